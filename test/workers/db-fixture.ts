import { createDatabase, type DatabaseHandle } from '../../drizzle/client/client.ts';
import { migrateDatabase } from '../../drizzle/migrate.ts';
import { startStubOrigin } from '../../fixtures/stub-origin.ts';
import { createTempDatabase, type TempDatabase } from '../../fixtures/temp-database.ts';
import { loadDataConfig } from '../../shared/config/data.ts';
import { createNodePlatform } from '../../workers/adapters/node.ts';
import { type BuiltEdge, buildEdge } from '../../workers/build.ts';
import { readEdgeSettings } from '../../workers/config.ts';
import { inferBody } from './edge-fixture.ts';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';

export interface DbEdge {
  edge: BuiltEdge;
  db: DatabaseHandle;
  temp: TempDatabase;
  settle(): Promise<void>;
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The edge as `buildEdge` wires it (real routes, cache and router), on a fresh migrated Postgres database
 * (pg driver), in front of a stub origin. Redis only when `env` names the bridge. `perUseDatabase`: a
 * connection per database use, as on Workers (default: one pool, as under Node).
 */
export async function startDbEdge(
  env: Record<string, string> = {},
  options: { perUseDatabase?: boolean } = {},
): Promise<DbEdge> {
  const temp = await createTempDatabase();
  const dataEnv = { DATABASE_URL: temp.url, DATABASE_DRIVER: 'pg', DATABASE_POOL_MAX: '4' };
  const db = await createDatabase(loadDataConfig(dataEnv));
  await migrateDatabase(db.primary);
  const origin = await startStubOrigin();
  const node = createNodePlatform();
  const edge = await buildEdge(
    readEdgeSettings({
      LOG_LEVEL: 'silent',
      ENVIRONMENT: 'test',
      ADMIN_TOKEN: OPERATOR_TOKEN,
      ORIGINS: `stub=${origin.url}`,
      ...dataEnv,
      ...env,
    }),
    { perUseDatabase: options.perUseDatabase ?? false, platform: () => node.platform },
  );
  return {
    edge,
    db,
    temp,
    settle: node.settle,
    request: async (path, init) => edge.app.request(path, init),
    async close() {
      await node.settle();
      await origin.close();
      await edge.database?.close();
      await db.close();
      await temp.drop();
    },
  };
}

export function operator(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json', ...extra };
}

export function inferWith(key: string, batch = 1): RequestInit {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: inferBody(batch),
  };
}
