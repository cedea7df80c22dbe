import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.ts';
import type { Services } from '../services.ts';
import { registerAdminRoutes } from './admin/index.ts';
import { registerHealth } from './health.ts';
import { registerOpenApi } from './openapi.ts';

/** Every route the edge serves, in one place. */
export function registerRoutes(app: OpenAPIHono<AppEnv>, _services: Services): void {
  registerHealth(app);
  registerAdminRoutes(app);
  registerOpenApi(app);
}
