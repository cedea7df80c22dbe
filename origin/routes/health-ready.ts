import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * `GET /v2/health/ready`: 200 once the models the origin should serve are READY, until a drain starts (see
 * Readiness). Otherwise 400, the protocol's "false", with why and each model's state.
 */
export function registerHealthReady(app: Hono<AppEnv>, deps: Pick<RouteDeps, 'readiness'>): void {
  app.get('/v2/health/ready', (c) => {
    const report = deps.readiness.check();
    return c.json(report, report.ready ? 200 : 400);
  });
}
