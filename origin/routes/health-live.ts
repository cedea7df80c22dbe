import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';

/** `GET /v2/health/live`: the process answers (while models still load, too). */
export function registerHealthLive(app: Hono<AppEnv>): void {
  app.get('/v2/health/live', (c) => c.json({ live: true }));
}
