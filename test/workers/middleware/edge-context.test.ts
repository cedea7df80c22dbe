import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createNodePlatform } from '../../../workers/adapters/node.ts';
import { readEdgeSettings } from '../../../workers/config.ts';
import { type EdgeContextVariables, edgeContext } from '../../../workers/middleware/edge-context/index.ts';
import { createServices } from '../../../workers/services.ts';

async function contextApp() {
  const settings = readEdgeSettings({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent' });
  const services = await createServices(settings, { data: null, redis: null, routing: false });
  const node = createNodePlatform({ now: () => 1_750_000_000_000 });
  const app = new Hono<{ Variables: EdgeContextVariables }>();
  app.use('*', edgeContext({ services, platform: () => node.platform }));
  app.get('/', (c) =>
    c.json({
      services: c.get('services') === services,
      platform: c.get('platform') === node.platform,
      startedAt: c.get('startedAt'),
    }),
  );
  return { app, services };
}

describe('edge context', () => {
  it("gives every request the isolate's services, the runtime's platform and its arrival time", async () => {
    const { app } = await contextApp();
    const res = await app.request('/');
    expect(await res.json()).toEqual({ services: true, platform: true, startedAt: 1_750_000_000_000 });
  });

  it('counts every request, answered or not', async () => {
    const { app, services } = await contextApp();
    await app.request('/');
    await app.request('/no/such/path');
    expect(services.metrics.snapshot().edge_requests_total).toBe(2);
  });
});
