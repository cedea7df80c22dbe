import { describe, expect, it } from 'vitest';
import {
  createVerifier,
  MemoryReplayCache,
  SIGNATURE_HEADERS,
  signRequest,
  type VerifyInput,
} from '../../../shared/signing/index.ts';

const T0 = 1_700_000_000_000;
const SECRET = 'secret-one';
const BODY = '{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}';
const PATH = '/v2/models/m/infer?trace=1';

function setup(opts: { keys?: Map<string, string>; now?: number; maxSkewSeconds?: number } = {}) {
  let now = opts.now ?? T0;
  const replayCache = new MemoryReplayCache({ now: () => now });
  const verifier = createVerifier({
    keys: opts.keys ?? new Map([['k1', SECRET]]),
    maxSkewSeconds: opts.maxSkewSeconds ?? 300,
    replayCache,
    now: () => now,
  });
  return {
    verifier,
    replayCache,
    setNow(ms: number) {
      now = ms;
    },
  };
}

async function signed(
  overrides: {
    keyId?: string;
    secret?: string;
    at?: number;
    method?: string;
    path?: string;
    body?: string;
  } = {},
) {
  const method = overrides.method ?? 'POST';
  const path = overrides.path ?? PATH;
  const body = overrides.body ?? BODY;
  const headers = await signRequest({
    method,
    pathWithQuery: path,
    body,
    keyId: overrides.keyId ?? 'k1',
    secret: overrides.secret ?? SECRET,
    now: () => overrides.at ?? T0,
  });
  return { method, path, body, headers };
}

function input(
  req: { method: string; path: string; body: string; headers: Record<string, string> },
  changes: Partial<{ method: string; path: string; body: string; headers: Record<string, string> }> = {},
): VerifyInput {
  return {
    method: changes.method ?? req.method,
    pathWithQuery: changes.path ?? req.path,
    headers: new Headers(changes.headers ?? req.headers),
    body: new TextEncoder().encode(changes.body ?? req.body),
  };
}

describe('signRequest', () => {
  it('produces the five headers', async () => {
    const { headers } = await signed();
    expect(Object.keys(headers).sort()).toEqual(Object.values(SIGNATURE_HEADERS).sort());
    expect(headers[SIGNATURE_HEADERS.timestamp]).toBe(String(T0 / 1000));
    expect(headers[SIGNATURE_HEADERS.nonce]).toMatch(/^[0-9a-f]{32}$/);
    expect(headers[SIGNATURE_HEADERS.signature]).toMatch(/^[0-9a-f]{64}$/);
    expect(headers[SIGNATURE_HEADERS.keyId]).toBe('k1');
  });

  it('is deterministic for a fixed nonce and time', async () => {
    const args = {
      method: 'GET',
      pathWithQuery: '/x',
      body: null,
      keyId: 'k1',
      secret: SECRET,
      now: () => T0,
      nonce: '0'.repeat(31) + '1',
    };
    expect(await signRequest(args)).toEqual(await signRequest(args));
  });
});

describe('createVerifier', () => {
  it('accepts a correctly signed request', async () => {
    const { verifier } = setup();
    const req = await signed();
    expect(await verifier.verify(input(req))).toEqual({ ok: true, keyId: 'k1' });
  });

  it('accepts a request without a body and a lower-case method', async () => {
    const { verifier } = setup();
    const headers = await signRequest({
      method: 'get',
      pathWithQuery: '/v2/models/m',
      body: null,
      keyId: 'k1',
      secret: SECRET,
      now: () => T0,
    });
    const result = await verifier.verify({
      method: 'GET',
      pathWithQuery: '/v2/models/m',
      headers: new Headers(headers),
      body: new Uint8Array(0),
    });
    expect(result.ok).toBe(true);
  });

  it('rejects missing headers', async () => {
    const { verifier } = setup();
    const req = await signed();
    const result = await verifier.verify(input(req, { headers: {} }));
    expect(result).toMatchObject({ ok: false, reason: 'missing' });

    const partial = { ...req.headers };
    delete partial[SIGNATURE_HEADERS.signature];
    const r2 = await verifier.verify(input(req, { headers: partial }));
    expect(r2).toMatchObject({ ok: false, reason: 'missing' });
    expect(r2.ok === false && r2.message).toContain(SIGNATURE_HEADERS.signature);
  });

  it('rejects malformed timestamp and nonce as missing', async () => {
    const { verifier } = setup();
    const req = await signed();
    for (const [name, value] of [
      [SIGNATURE_HEADERS.timestamp, '17e8'],
      [SIGNATURE_HEADERS.nonce, 'not-hex'],
      [SIGNATURE_HEADERS.contentSha256, 'xyz'],
    ] as const) {
      const r = await verifier.verify(input(req, { headers: { ...req.headers, [name]: value } }));
      expect(r).toMatchObject({ ok: false, reason: 'missing' });
    }
  });

  it('rejects an unknown key id', async () => {
    const { verifier } = setup();
    const req = await signed({ keyId: 'k9' });
    expect(await verifier.verify(input(req))).toMatchObject({ ok: false, reason: 'unknown-key' });
  });

  it('rejects a known key id signed with another secret', async () => {
    const { verifier } = setup();
    const req = await signed({ secret: 'wrong' });
    expect(await verifier.verify(input(req))).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('rejects stale and future timestamps beyond the skew, accepts at the boundary', async () => {
    const { verifier } = setup({ maxSkewSeconds: 60 });
    expect(await verifier.verify(input(await signed({ at: T0 - 61_000 })))).toMatchObject({
      ok: false,
      reason: 'stale',
    });
    expect(await verifier.verify(input(await signed({ at: T0 + 61_000 })))).toMatchObject({
      ok: false,
      reason: 'stale',
    });
    expect((await verifier.verify(input(await signed({ at: T0 - 60_000 })))).ok).toBe(true);
    expect((await verifier.verify(input(await signed({ at: T0 + 60_000 })))).ok).toBe(true);
  });

  it('rejects a tampered body as body-mismatch', async () => {
    const { verifier } = setup();
    const req = await signed();
    expect(await verifier.verify(input(req, { body: BODY.replace('1]', '2]') }))).toMatchObject({
      ok: false,
      reason: 'body-mismatch',
    });
  });

  it('rejects a body whose declared hash was also replaced', async () => {
    const { verifier } = setup();
    const req = await signed();
    const other = await signed({ body: 'other' });
    const r = await verifier.verify(
      input(req, {
        body: 'other',
        headers: {
          ...req.headers,
          [SIGNATURE_HEADERS.contentSha256]: other.headers[SIGNATURE_HEADERS.contentSha256]!,
        },
      }),
    );
    expect(r).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('rejects tampered path, query, method and timestamp', async () => {
    const { verifier } = setup();
    const req = await signed();
    const cases: Parameters<typeof input>[1][] = [
      { path: '/v2/models/other/infer?trace=1' },
      { path: '/v2/models/m/infer?trace=2' },
      { path: '/v2/models/m/infer' },
      { method: 'PUT' },
      { headers: { ...req.headers, [SIGNATURE_HEADERS.timestamp]: String(T0 / 1000 + 1) } },
      { headers: { ...req.headers, [SIGNATURE_HEADERS.nonce]: 'f'.repeat(32) } },
    ];
    for (const change of cases) {
      expect(await verifier.verify(input(req, change))).toMatchObject({ ok: false, reason: 'bad-signature' });
    }
  });

  it('rejects malformed or truncated signatures', async () => {
    const { verifier } = setup();
    const req = await signed();
    const sig = req.headers[SIGNATURE_HEADERS.signature]!;
    for (const bad of [
      sig.slice(0, 62),
      `${sig}00`,
      'zz'.repeat(32),
      sig.replace(/^./, sig[0] === 'a' ? 'b' : 'a'),
    ]) {
      const r = await verifier.verify(
        input(req, { headers: { ...req.headers, [SIGNATURE_HEADERS.signature]: bad } }),
      );
      expect(r).toMatchObject({ ok: false, reason: 'bad-signature' });
    }
  });

  it('accepts several key ids at once (rotation)', async () => {
    const { verifier } = setup({
      keys: new Map([
        ['old', 'old-secret'],
        ['new', 'new-secret'],
      ]),
    });
    expect(await verifier.verify(input(await signed({ keyId: 'old', secret: 'old-secret' })))).toEqual({
      ok: true,
      keyId: 'old',
    });
    expect(await verifier.verify(input(await signed({ keyId: 'new', secret: 'new-secret' })))).toEqual({
      ok: true,
      keyId: 'new',
    });
    expect(await verifier.verify(input(await signed({ keyId: 'new', secret: 'old-secret' })))).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('rejects a replayed nonce, within the replay window', async () => {
    const { verifier, setNow } = setup({ maxSkewSeconds: 60 });
    const req = await signed();
    expect((await verifier.verify(input(req))).ok).toBe(true);
    expect(await verifier.verify(input(req))).toMatchObject({ ok: false, reason: 'replayed' });
    // Still inside the skew window: still a replay.
    setNow(T0 + 59_000);
    expect(await verifier.verify(input(req))).toMatchObject({ ok: false, reason: 'replayed' });
    // After the skew window the timestamp itself is stale.
    setNow(T0 + 61_000);
    expect(await verifier.verify(input(req))).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('does not remember nonces of requests that fail verification', async () => {
    const { verifier } = setup();
    const req = await signed();
    const tampered = await verifier.verify(input(req, { method: 'PUT' }));
    expect(tampered).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect((await verifier.verify(input(req))).ok).toBe(true);
  });

  it('defaults now to Date.now', async () => {
    const verifier = createVerifier({
      keys: new Map([['k1', SECRET]]),
      maxSkewSeconds: 30,
      replayCache: new MemoryReplayCache(),
    });
    const headers = await signRequest({
      method: 'GET',
      pathWithQuery: '/',
      body: null,
      keyId: 'k1',
      secret: SECRET,
    });
    const r = await verifier.verify({
      method: 'GET',
      pathWithQuery: '/',
      headers: new Headers(headers),
      body: new Uint8Array(),
    });
    expect(r.ok).toBe(true);
  });
});
