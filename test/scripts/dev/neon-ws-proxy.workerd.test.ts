import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { createTempDatabase, type TempDatabase } from '../../../fixtures/temp-database.ts';
import { type NeonWsProxy, startNeonWsProxy } from '../../../scripts/dev/neon-ws-proxy.ts';

type StartedWorker = Awaited<ReturnType<typeof unstable_startWorker>>;

let proxy: NeonWsProxy;
let database: TempDatabase;
let worker: StartedWorker;

beforeAll(async () => {
  database = await createTempDatabase();
  const target = new URL(database.url);
  proxy = await startNeonWsProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
  worker = await unstable_startWorker({
    name: 'neon-probe',
    entrypoint: 'test/support/workers/neon-probe.ts',
    compatibilityDate: '2025-09-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: {
      DATABASE_URL: { type: 'plain_text', value: database.url },
      NEON_WS_PROXY: { type: 'plain_text', value: proxy.address },
    },
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      persist: false,
      watch: false,
      logLevel: 'warn',
    },
  });
  await worker.ready;
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await proxy?.close();
  await database?.drop();
});

describe('Neon WebSocket proxy from real workerd', () => {
  it('a worker using the Neon driver and drizzle queries the real PostgreSQL through the proxy', async () => {
    const before = proxy.connections();
    const res = await worker.fetch('http://probe/?echo=from-workerd');
    const body = (await res.json()) as { rows?: unknown[]; runtime?: string; error?: string };
    expect(body.error).toBeUndefined();
    expect(res.status).toBe(200);
    expect(body.runtime).toBe('Cloudflare-Workers');
    expect(body.rows).toEqual([{ echo: 'from-workerd', db: database.name, n: 1000 }]);
    expect(proxy.connections()).toBeGreaterThan(before);
  });

  it('serves one fresh connection per request, several requests in a row', async () => {
    for (const echo of ['a', 'b', 'c']) {
      const res = await worker.fetch(`http://probe/?echo=${echo}`);
      expect(((await res.json()) as { rows: { echo: string }[] }).rows[0]!.echo).toBe(echo);
    }
  });
});
