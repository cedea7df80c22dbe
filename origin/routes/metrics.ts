import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import type { RouteDeps } from './route-deps.ts';

/** `GET /metrics`: Prometheus exposition. */
export function registerMetrics(app: Hono<AppEnv>, deps: Pick<RouteDeps, 'metrics'>): void {
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
}
