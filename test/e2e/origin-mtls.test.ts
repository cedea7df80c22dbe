import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config/load.ts';
import { originConfigSchema } from '../../shared/config/origin.ts';
import type { AppError } from '../../shared/errors/index.ts';
import { nodeOriginFetch } from '../../workers/adapters/node-origin-tls.ts';
import { readEdgeSettings } from '../../workers/config.ts';
import { BreakerRegistry } from '../../workers/routing/breaker.ts';
import { Deadline } from '../../workers/routing/deadline.ts';
import { OriginClient } from '../../workers/routing/forward.ts';
import { StaticOriginSource } from '../../workers/routing/origin-source.ts';
import { origin as originRecord } from '../workers/routing/fleet-fixtures.ts';
import { type Harness, KEY_ID, makeRepository, SECRET, startHarness } from './origin-harness.ts';

/**
 * Edge→origin mTLS (requirement E6) with real certificates: the origin serves HTTPS and requires a client
 * certificate signed by its client CA; the edge's Node router presents one (nodeOriginFetch). The certificates
 * are made here: a self-signed certificate for 127.0.0.1 that is also the CA of the client certificate.
 */

let dir: string;
let files: { cert: string; key: string; clientCert: string; clientKey: string };
let h: Harness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiserve-mtls-'));
  const pems = await generate([{ name: 'commonName', value: 'aiserve-test-origin' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
    clientCertificate: { cn: 'aiserve-edge', keyType: 'ec', algorithm: 'sha256' },
  });
  files = {
    cert: join(dir, 'origin.crt'),
    key: join(dir, 'origin.key'),
    clientCert: join(dir, 'edge.crt'),
    clientKey: join(dir, 'edge.key'),
  };
  await writeFile(files.cert, pems.cert);
  await writeFile(files.key, pems.private);
  await writeFile(files.clientCert, pems.clientcert!);
  await writeFile(files.clientKey, pems.clientprivate!);
  h = await startHarness(
    {
      ORIGIN_TLS_CERT_FILE: files.cert,
      ORIGIN_TLS_KEY_FILE: files.key,
      ORIGIN_TLS_CLIENT_CA_FILE: files.cert,
    },
    await makeRepository(),
  );
}, 120_000);

afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function client(env: Record<string, string>) {
  const fetch = await nodeOriginFetch(readEdgeSettings(env).edge);
  return new OriginClient({
    source: new StaticOriginSource([
      originRecord('tls', { url: h.url, models: [{ name: 'ocr-cls', versions: ['1'] }] }),
    ]),
    breakers: new BreakerRegistry({ consecutiveFailures: 5, halfOpenAfterMs: 60_000 }),
    signing: { keyId: KEY_ID, secret: SECRET },
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 5, minAttemptMs: 20 },
    attemptTimeoutMs: 10_000,
    region: null,
    ...(fetch ? { fetch } : {}),
  });
}

const ready = () => ({
  method: 'GET' as const,
  path: '/v2/models/ocr-cls/ready',
  body: null,
  headers: {},
  model: 'ocr-cls',
  version: null,
  deadline: new Deadline(10_000),
});

describe('edge → origin over mTLS', () => {
  it('serves HTTPS and answers the edge that presents its client certificate', async () => {
    expect(h.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const c = await client({
      ORIGIN_TLS_CLIENT_CERT_FILE: files.clientCert,
      ORIGIN_TLS_CLIENT_KEY_FILE: files.clientKey,
      ORIGIN_TLS_CA_FILE: files.cert,
    });
    const res = await c.send(ready());
    expect(res.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(res.body))).toMatchObject({ ready: true });
  });

  it('refuses, at the handshake, a caller without a client certificate', async () => {
    const c = await client({ ORIGIN_TLS_CA_FILE: files.cert });
    const err = (await c.send(ready()).catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('NO_HEALTHY_ORIGIN');
    expect(err.message).toContain('connection failed');
  });

  it('fails fast on half a TLS configuration, naming the variables', async () => {
    expect(() => loadConfig(originConfigSchema, { ORIGIN_TLS_CERT_FILE: files.cert }, 'origin')).toThrowError(
      /ORIGIN_TLS_KEY_FILE.*go together/,
    );
    expect(() =>
      loadConfig(originConfigSchema, { ORIGIN_TLS_CLIENT_CA_FILE: files.cert }, 'origin'),
    ).toThrowError(/ORIGIN_TLS_CLIENT_CA_FILE.*need HTTPS/);
    await expect(
      nodeOriginFetch(readEdgeSettings({ ORIGIN_TLS_CLIENT_CERT_FILE: files.clientCert }).edge),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(
      nodeOriginFetch(readEdgeSettings({ ORIGIN_TLS_CA_FILE: join(dir, 'missing.pem') }).edge),
    ).rejects.toThrowError(/ORIGIN_TLS_CA_FILE: cannot read/);
  });
});
