import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.ts';
import type { Services } from '../services.ts';
import { registerAdminRoutes } from './admin/index.ts';
import { registerHealth } from './health.ts';
import { registerInfer } from './infer.ts';
import { registerModelMetadata } from './model-metadata.ts';
import { registerModelReady } from './model-ready.ts';
import { registerOpenApi } from './openapi.ts';
import { registerServerMetadata } from './server-metadata.ts';

/** Every route the edge serves, in one place. */
export function registerRoutes(app: OpenAPIHono<AppEnv>, services: Services): void {
  registerHealth(app, services.readiness);
  registerServerMetadata(app);
  if (services.routing) {
    registerInfer(app, services.routing);
    registerModelMetadata(app, services.routing);
    registerModelReady(app, services.routing);
  }
  registerAdminRoutes(app);
  registerOpenApi(app);
}
