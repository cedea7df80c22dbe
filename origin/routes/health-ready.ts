import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import type { RouteDeps } from './route-deps.ts';

/** `GET /v2/health/ready`: true once every model loaded and until a drain starts. */
export function registerHealthReady(app: Hono<AppEnv>, deps: Pick<RouteDeps, 'lifecycle'>): void {
  app.get('/v2/health/ready', (c) =>
    deps.lifecycle.isReady
      ? c.json({ ready: true })
      : // The protocol reports "false" as a 4xx; the body says why for humans.
        c.json({ ready: false, error: `server is ${deps.lifecycle.state}` }, 400),
  );
}
