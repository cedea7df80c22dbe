import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { registerFleetStatus } from './fleet-status.ts';
import { registerKeysCreate } from './keys-create.ts';
import { registerKeysList } from './keys-list.ts';
import { registerKeysRevoke } from './keys-revoke.ts';
import { registerKeysRotate } from './keys-rotate.ts';
import { registerMetrics } from './metrics.ts';
import { registerModelsList } from './models-list.ts';
import { registerModelsUpdate } from './models-update.ts';
import { registerTenantsCreate } from './tenants-create.ts';
import { registerTenantsList } from './tenants-list.ts';
import { registerUsageList } from './usage-list.ts';

/** The admin API (E8) under `/admin/v1`; auth (operator token or an `admin`-scoped key) runs before all of it. */
export function registerAdminRoutes(app: OpenAPIHono<AppEnv>): void {
  registerTenantsCreate(app);
  registerTenantsList(app);
  registerKeysCreate(app);
  registerKeysList(app);
  registerKeysRevoke(app);
  registerKeysRotate(app);
  registerModelsList(app);
  registerModelsUpdate(app);
  registerUsageList(app);
  registerFleetStatus(app);
  registerMetrics(app);
}
