import type { Hono } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import type { AppEnv } from '../server/app-env.ts';
import { readBody } from '../server/body.ts';
import type { RouteDeps } from './route-deps.ts';

/** `POST /v2/repository/index`: every model version on disk or loaded, with its state; `{"ready": true}` filters. */
export function registerRepositoryIndex(
  app: Hono<AppEnv>,
  deps: Pick<RouteDeps, 'repository' | 'maxBodyBytes'>,
): void {
  app.post('/v2/repository/index', async (c) => {
    const text = new TextDecoder().decode(await readBody(c, deps.maxBodyBytes));
    let readyOnly = false;
    if (text.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new AppError('INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new AppError(
          'INVALID_REQUEST',
          'repository index body must be a JSON object such as {"ready": true}',
        );
      }
      const flag = (parsed as { ready?: unknown }).ready;
      if (flag !== undefined && typeof flag !== 'boolean') {
        throw new AppError('INVALID_REQUEST', `'ready' must be a boolean, got ${JSON.stringify(flag)}`);
      }
      readyOnly = flag === true;
    }
    const rows = await deps.repository.index();
    return c.json(readyOnly ? rows.filter((r) => r.state === 'READY') : rows);
  });
}
