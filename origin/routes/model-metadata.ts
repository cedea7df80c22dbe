import type { Hono } from 'hono';
import type { AppEnv } from '../server/app-env.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * `GET /v2/models/{m}[/versions/{v}]`: the model's inputs and outputs (full shapes, -1 for dynamic and batch
 * dimensions) and, without a version, every READY version, highest first.
 */
export function registerModelMetadata(app: Hono<AppEnv>, deps: Pick<RouteDeps, 'repository'>): void {
  const metadata = (name: string, version?: string) => {
    const { definition } = deps.repository.get(name, version).runtime;
    const versions = version
      ? [String(definition.version)]
      : deps.repository
          .readyVersions(name)
          .sort((a, b) => b - a)
          .map(String);
    return {
      name: definition.name,
      versions,
      platform: definition.platform,
      inputs: definition.inputs,
      outputs: definition.outputs,
    };
  };
  app.get('/v2/models/:model', (c) => c.json(metadata(c.req.param('model'))));
  app.get('/v2/models/:model/versions/:version', (c) =>
    c.json(metadata(c.req.param('model'), c.req.param('version'))),
  );
}
