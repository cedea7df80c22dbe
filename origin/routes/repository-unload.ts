import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import { readBody } from '../server/body.ts';
import { parseUnloadBody, requireExplicitControl } from './repository-control-body.ts';
import type { RouteDeps } from './route-deps.ts';

/** `POST /v2/repository/models/{m}/unload`: unloads every version once it drained (MODEL_CONTROL_MODE=explicit). */
export function registerRepositoryUnload(
  app: Hono<AppEnv>,
  deps: Pick<RouteDeps, 'repository' | 'readiness' | 'maxBodyBytes' | 'modelControl'>,
): void {
  app.post('/v2/repository/models/:model/unload', async (c) => {
    requireExplicitControl(deps.modelControl, 'unload');
    const text = new TextDecoder().decode(await readBody(c, deps.maxBodyBytes));
    parseUnloadBody(text);
    const name = c.req.param('model');
    await deps.repository.unload(name);
    deps.readiness.unloaded(name);
    return c.json({});
  });
}
