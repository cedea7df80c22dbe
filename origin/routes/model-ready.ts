import type { Context, Hono } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import type { AppEnv } from '../server/app-env.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * `GET /v2/models/{m}[/versions/{v}]/ready`: 200 when ready; 400 (the protocol's "false") for a model in the
 * repository that is not; 404 otherwise.
 */
export function registerModelReady(app: Hono<AppEnv>, deps: Pick<RouteDeps, 'repository'>): void {
  const readiness = async (c: Context<AppEnv>, name: string, version?: string) => {
    const versions = deps.repository.readyVersions(name).map(String);
    const isReady = version ? versions.includes(version) : versions.length > 0;
    const body = version ? { name, version } : { name };
    if (isReady) return c.json({ ...body, ready: true });
    const known = (await deps.repository.index()).some(
      (row) => row.name === name && (!version || row.version === version),
    );
    if (!known) {
      throw new AppError(
        'MODEL_NOT_FOUND',
        version ? `model '${name}' has no version ${version}` : `unknown model '${name}'`,
      );
    }
    const which = version ? `model '${name}' version ${version}` : `model '${name}'`;
    return c.json({ ...body, ready: false, error: `${which} is not ready` }, 400);
  };
  app.get('/v2/models/:model/ready', (c) => readiness(c, c.req.param('model')));
  app.get('/v2/models/:model/versions/:version/ready', (c) =>
    readiness(c, c.req.param('model'), c.req.param('version')),
  );
}
