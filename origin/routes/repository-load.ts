import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import { readBody } from '../server/body.ts';
import { parseLoadBody, requireExplicitControl } from './repository-control-body.ts';
import type { RouteDeps } from './route-deps.ts';

/** `POST /v2/repository/models/{m}/load`: loads, or atomically reloads, a model (MODEL_CONTROL_MODE=explicit). */
export function registerRepositoryLoad(
  app: Hono<AppEnv>,
  deps: Pick<RouteDeps, 'repository' | 'readiness' | 'maxBodyBytes' | 'modelControl'>,
): void {
  app.post('/v2/repository/models/:model/load', async (c) => {
    requireExplicitControl(deps.modelControl, 'load');
    const text = new TextDecoder().decode(await readBody(c, deps.maxBodyBytes));
    const name = c.req.param('model');
    await deps.repository.load(name, parseLoadBody(text));
    deps.readiness.loaded(name);
    return c.json({});
  });
}
