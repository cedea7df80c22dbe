import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { pathWithQueryOf, verifySignature } from '../../../origin/server/verify-signature.ts';
import { toErrorResponse } from '../../../shared/errors/index.ts';
import {
  createVerifier,
  MemoryReplayCache,
  signRequest,
  type VerifyFailureReason,
} from '../../../shared/signing/index.ts';

const NOW = 1_700_000_000_000;
const KEYS = new Map([
  ['k1', 'secret-1'],
  ['k2', 'secret-2'],
]);
const BASE = 'http://origin.local';

function makeApp(options: { enabled?: boolean; exemptPaths?: string[] } = {}) {
  const rejects: VerifyFailureReason[] = [];
  const verifier = createVerifier({
    keys: KEYS,
    maxSkewSeconds: 60,
    replayCache: new MemoryReplayCache({ now: () => NOW }),
    now: () => NOW,
  });
  const app = new Hono();
  app.onError((err) => toErrorResponse(err));
  app.use(
    '*',
    verifySignature({
      verifier,
      enabled: options.enabled ?? true,
      ...(options.exemptPaths ? { exemptPaths: options.exemptPaths } : {}),
      onReject: (reason) => rejects.push(reason),
    }),
  );
  app.post('/v2/models/:model/infer', async (c) => {
    const json = await c.req.json();
    const bytes = await c.req.arrayBuffer();
    return c.json({
      model: c.req.param('model'),
      json,
      bytes: bytes.byteLength,
      q: c.req.query('x') ?? null,
    });
  });
  app.get('/v2/health/ready', (c) => c.text('ready'));
  app.get('/metrics', (c) => c.text('# metrics'));
  app.get('/v2/models/:model', (c) => c.json({ model: c.req.param('model') }));
  return { app, rejects };
}

const BODY = JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2] }] });

async function signedRequest(
  opts: {
    method?: string;
    path?: string;
    body?: string | null;
    keyId?: string;
    secret?: string;
    at?: number;
  } = {},
) {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/v2/models/resnet/infer?x=1';
  const body = opts.body === undefined ? BODY : opts.body;
  const headers = await signRequest({
    method,
    pathWithQuery: path,
    body,
    keyId: opts.keyId ?? 'k1',
    secret: opts.secret ?? 'secret-1',
    now: () => opts.at ?? NOW,
  });
  return { method, path, body, headers };
}

function send(
  app: Hono,
  req: { method: string; path: string; body: string | null; headers: Record<string, string> },
) {
  return app.request(`${BASE}${req.path}`, {
    method: req.method,
    headers: { 'content-type': 'application/json', ...req.headers },
    ...(req.body === null ? {} : { body: req.body }),
  });
}

async function expect401(res: Response, fragment: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: string; code: string };
  expect(body.code).toBe('UNAUTHENTICATED');
  expect(body.error).toContain('request signature rejected');
  expect(body.error).toContain(fragment);
}

describe('verifySignature middleware', () => {
  it('passes a signed request, and the handler can still read the body', async () => {
    const { app, rejects } = makeApp();
    const res = await send(app, await signedRequest());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: 'resnet',
      json: JSON.parse(BODY),
      bytes: new TextEncoder().encode(BODY).byteLength,
      q: '1',
    });
    expect(rejects).toEqual([]);
  });

  it('passes a signed GET without a body and a second rotated key', async () => {
    const { app } = makeApp();
    const res = await send(
      app,
      await signedRequest({
        method: 'GET',
        path: '/v2/models/resnet',
        body: null,
        keyId: 'k2',
        secret: 'secret-2',
      }),
    );
    expect(res.status).toBe(200);
  });

  it('rejects an unsigned request', async () => {
    const { app, rejects } = makeApp();
    const res = await app.request(`${BASE}/v2/models/resnet/infer`, { method: 'POST', body: BODY });
    await expect401(res, 'missing header');
    expect(rejects).toEqual(['missing']);
  });

  it('rejects a stale request', async () => {
    const { app, rejects } = makeApp();
    await expect401(await send(app, await signedRequest({ at: NOW - 120_000 })), 'old');
    expect(rejects).toEqual(['stale']);
  });

  it('rejects a replayed request', async () => {
    const { app, rejects } = makeApp();
    const req = await signedRequest();
    expect((await send(app, req)).status).toBe(200);
    await expect401(await send(app, req), 'nonce already used');
    expect(rejects).toEqual(['replayed']);
  });

  it('rejects a wrong signature', async () => {
    const { app, rejects } = makeApp();
    await expect401(await send(app, await signedRequest({ secret: 'not-the-secret' })), 'signature');
    expect(rejects).toEqual(['bad-signature']);
  });

  it('rejects a request sent to another path or query than signed', async () => {
    const { app, rejects } = makeApp();
    const req = await signedRequest();
    await expect401(await send(app, { ...req, path: '/v2/models/resnet/infer?x=2' }), 'signature');
    expect(rejects).toEqual(['bad-signature']);
  });

  it('rejects a tampered body', async () => {
    const { app, rejects } = makeApp();
    const req = await signedRequest();
    await expect401(await send(app, { ...req, body: BODY.replace('1,', '9,') }), 'body');
    expect(rejects).toEqual(['body-mismatch']);
  });

  it('rejects an unknown key id', async () => {
    const { app, rejects } = makeApp();
    await expect401(await send(app, await signedRequest({ keyId: 'k3' })), 'unknown key');
    expect(rejects).toEqual(['unknown-key']);
  });

  it('lets health and metrics through unsigned', async () => {
    const { app } = makeApp();
    expect((await app.request(`${BASE}/v2/health/ready`)).status).toBe(200);
    expect((await app.request(`${BASE}/metrics`)).status).toBe(200);
    await expect401(await app.request(`${BASE}/v2/models/resnet`), 'missing');
  });

  it('takes the exempt list as an option', async () => {
    const { app } = makeApp({ exemptPaths: ['/v2/models/*'] });
    expect((await app.request(`${BASE}/v2/models/resnet`)).status).toBe(200);
    await expect401(await app.request(`${BASE}/metrics`), 'missing');
  });

  it('is a pass-through when disabled', async () => {
    const { app } = makeApp({ enabled: false });
    const res = await app.request(`${BASE}/v2/models/resnet/infer`, { method: 'POST', body: BODY });
    expect(res.status).toBe(200);
  });

  it('requires a verifier when enabled', () => {
    expect(() => verifySignature({ verifier: null, enabled: true })).toThrow(/verifier/);
    expect(() => verifySignature({ verifier: null, enabled: false })).not.toThrow();
  });

  it('signs and verifies over a real HTTP hop', async () => {
    const { serve } = await import('@hono/node-server');
    const { app } = makeApp();
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    try {
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('no address');
      const url = new URL(`http://127.0.0.1:${address.port}/v2/models/resnet/infer?x=%20a`);
      const req = await signedRequest({ path: url.pathname + url.search });
      const res = await fetch(url, { method: 'POST', headers: req.headers, body: BODY });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { q: string }).q).toBe(' a');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('pathWithQueryOf', () => {
  it('takes the request target from an absolute URL', () => {
    expect(pathWithQueryOf('http://h:8000/v2/models/m/infer?a=1&b=%20')).toBe('/v2/models/m/infer?a=1&b=%20');
    expect(pathWithQueryOf('http://h')).toBe('/');
    expect(pathWithQueryOf('http://h/x#frag')).toBe('/x');
  });
});
