import type { Hono } from 'hono';
import { AISERVE_VERSION } from '../../shared/version.ts';
import type { AppEnv } from '../server/app-env.ts';

const SERVER_NAME = 'aiserve-origin';
const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'parameters', 'schedule_policy'];

/** `GET /v2`: the server's name, version and protocol extensions. */
export function registerServerMetadata(app: Hono<AppEnv>): void {
  app.get('/v2', (c) => c.json({ name: SERVER_NAME, version: AISERVE_VERSION, extensions: EXTENSIONS }));
}
