import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceGroup } from '../../../../scripts/cli/commands/inference.ts';
import { inferBody, makeKey, type TestKey, testEdge } from '../../../workers/edge-fixture.ts';
import { cli } from './pipeline-cli.ts';

// The real edge app (auth, rate limits, headers) with in-memory stores and its stub inference route, over HTTP.
let server: ServerType;
let url: string;
let key: TestKey;
let tight: TestKey;

beforeAll(async () => {
  key = await makeKey({ tenant: { requestsPerMinute: 60_000, burst: 10_000 } });
  tight = await makeKey({ tenant: { requestsPerMinute: 60, burst: 3 } });
  const { app } = await testEdge({ keys: [key, tight] });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** `inference load m` through the test edge with `key` and a one-item body, plus `extra` flags. */
const load = (k: TestKey, ...extra: string[]) =>
  run('load', 'm', '--url', url, '--key', k.key, '--data', inferBody(), ...extra);
const run = (...argv: string[]) =>
  cli([inferenceGroup], 'postgres://127.0.0.1:1/unused', ['inference', ...argv]);

describe('inference infer', () => {
  it('sends the request through the edge with the key and prints status, X-Cache, latency and request id', async () => {
    const r = await run('infer', 'm', '--url', url, '--key', key.key, '--data', inferBody(2));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^HTTP 200 · X-Cache - · \d+\.\d ms · request id [0-9a-f-]{36}$/);
  });

  it('--json gives the whole answer: the edge saw the model, the items and the key’s tenant', async () => {
    const r = await run('infer', 'm', '--url', url, '--key', key.key, '--data', inferBody(3), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      status: 200,
      response: { model_name: 'm', items: 3, auth: key.record.tenantId },
    });
    expect(out.latencyMs).toBeGreaterThan(0);
  });

  it('reads the key and URL from AISERVE_EDGE_URL and AISERVE_API_KEY', async () => {
    const r = await cli(
      [inferenceGroup],
      'postgres://127.0.0.1:1/unused',
      ['inference', 'infer', 'm', '--data', inferBody()],
      {
        AISERVE_EDGE_URL: url,
        AISERVE_API_KEY: key.key,
      },
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('exits 2 with the edge’s reason when the key is refused', async () => {
    const r = await run(
      'infer',
      'm',
      '--url',
      url,
      '--key',
      'ais_live_aaaaaaaaaaaa_nope',
      '--data',
      inferBody(),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the edge answered HTTP 401');
  });

  it('exits 3 for a path the edge does not know, 5 when nothing answers', async () => {
    const unknown = await run(
      'infer',
      'm',
      '--url',
      `${url}/nowhere`,
      '--key',
      key.key,
      '--data',
      inferBody(),
    );
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('HTTP 404');
    const down = await run('infer', 'm', '--url', 'http://127.0.0.1:1', '--data', inferBody());
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('ECONNREFUSED');
  });

  it('refuses bad arguments before sending anything (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['infer', 'm', '--data', inferBody()], 'no edge URL'],
      [['infer', 'm', '--url', 'ftp://x', '--data', inferBody()], 'http(s) URL'],
      [['infer', 'm', '--url', url, '--data', '{"inputs": ['], 'not valid JSON'],
      [['infer', 'm', '--url', url, '--data', '{"outputs": []}'], '"inputs" array'],
      [['infer', 'm', '--url', url, '--body', '/nonexistent/req.json'], 'no such file'],
      [['infer', 'no-example-model', '--url', url], 'no request body'],
      [['load', 'm', '--url', url, '--data', inferBody(), '--concurrency', '0'], '--concurrency must be'],
      [['load', 'm', '--url', url, '--data', inferBody(), '--duration-s', '601'], '--duration-s must be'],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain(message);
    }
  });
});

describe('inference load', () => {
  it('sends exactly --requests requests from --concurrency clients and reports them, with progress on stderr', async () => {
    const r = await load(key, '--requests', '40', '--concurrency', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ requests: 40, concurrency: 4, errors: 0, statuses: { '200': 40 } });
    expect(out.latency.count).toBe(40);
    expect(out.latency.p99Ms).toBeGreaterThanOrEqual(out.latency.p50Ms);
    expect(r.stderr).toContain('load: m through http://127.0.0.1:');
  });

  it('counts 429s from the key’s plan as errors and still exits 0, naming the first one', async () => {
    const r = await load(tight, '--requests', '10', '--concurrency', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/requests 10 \(.*\), errors 7/);
    expect(r.stdout).toContain('status: 200 3 · 429 7');
    expect(r.stdout).toContain('first error: HTTP 429: rate limit exceeded');
  });

  it('stops at --duration-s when no request cap is given', async () => {
    const r = await load(key, '--duration-s', '1', '--concurrency', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(out.durationMs).toBeLessThan(5_000);
    expect(out.requests).toBeGreaterThan(0);
  });

  it('exits 5 when no request got an answer', async () => {
    const r = await run('load', 'm', '--url', 'http://127.0.0.1:1', '--data', inferBody(), '--requests', '5');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('every request failed');
  });
});
