import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { startStubOrigin } from '../../fixtures/stub-origin.ts';
import { startUpstashBridge } from '../../scripts/dev/upstash-bridge.ts';

/**
 * Child-process entry for the edge benchmark's helpers, so none of them shares an event loop with the load
 * generator: `bare <port>` (the baseline: one Hono route, no middleware), `bare-headers <port>` (the same route
 * answering with the headers in BENCH_RESPONSE_HEADERS, a JSON object: the edge's own, to price them alone),
 * `stub-origin <port>` (an Open Inference Protocol origin that answers at once), `bridge <port>` (the local
 * Upstash REST bridge in front of BENCH_REDIS_URL). Each prints `ready <url>` once it listens.
 */

const FIXED = {
  model_name: 'bench',
  model_version: '1',
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] }],
};

async function main(): Promise<void> {
  const [kind, portArg] = process.argv.slice(2);
  const port = Number(portArg ?? 0);
  let url: string;
  if (kind === 'bare' || kind === 'bare-headers') {
    const app = new Hono();
    app.get('/v2/health/live', (c) => c.json({ live: true }));
    // Reads the body as the edge does, so the baseline pays the same I/O.
    if (kind === 'bare') {
      app.post('/v2/models/:model/infer', async (c) => {
        await c.req.arrayBuffer();
        return c.json(FIXED);
      });
    } else {
      const headers = JSON.parse(process.env.BENCH_RESPONSE_HEADERS ?? '{}') as Record<string, string>;
      app.post('/v2/models/:model/infer', async (c) => {
        await c.req.arrayBuffer();
        return c.json(FIXED, 200, headers);
      });
    }
    await new Promise<void>((resolve) =>
      serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => resolve()),
    );
    url = `http://127.0.0.1:${port}`;
  } else if (kind === 'stub-origin') {
    url = (await startStubOrigin({ port })).url;
  } else if (kind === 'bridge') {
    const redisUrl = process.env.BENCH_REDIS_URL;
    const token = process.env.BENCH_BRIDGE_TOKEN;
    if (!redisUrl || !token) throw new Error('bridge needs BENCH_REDIS_URL and BENCH_BRIDGE_TOKEN');
    url = (await startUpstashBridge({ redisUrl, token, port })).url;
  } else {
    throw new Error(`unknown server kind "${kind}" (bare | bare-headers | stub-origin | bridge)`);
  }
  process.stdout.write(`ready ${url}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
