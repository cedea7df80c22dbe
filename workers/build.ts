import type { OpenAPIHono } from '@hono/zod-openapi';
import { findModelSettings } from '../drizzle/queries/models.ts';
import { loadDataConfig } from '../shared/config/data.ts';
import { edgeRoutingConfigSchema } from '../shared/config/edge-routing.ts';
import { loadConfig } from '../shared/config/load.ts';
import { type AppOptions, createApp } from './app.ts';
import type { AppEnv } from './env.ts';
import { createEdgeRouting } from './routing/edge-routing.ts';
import {
  configFromBindings,
  createServices,
  type ServiceDeps,
  type Services,
  stringBindings,
} from './services.ts';
import { createDatabaseSource, type DatabaseSource } from './stores/database/database-source.ts';
import { createPostgresDataAccess } from './stores/database/postgres-data.ts';

export interface BuiltEdge {
  app: OpenAPIHono<AppEnv>;
  services: Services;
  database: DatabaseSource | null;
}

export interface BuildOptions extends AppOptions {
  /** Workers: one database connection per use (sockets cannot cross requests). */
  perUseDatabase: boolean;
  /** Neon driver under Node 20: the `ws` constructor. */
  webSocket?: unknown;
  deps?: Omit<ServiceDeps, 'data'>;
  /** The fetch origin calls go through: with a client certificate for mTLS origins (adapters/*). */
  originFetch?: typeof fetch;
}

/**
 * The same wiring for both entries (Workers and `npm run edge:node`): config from the bindings, Postgres when
 * `DATABASE_URL` is set, services, the response cache and origin router (EDGE-ROUTING), app.
 */
export async function buildEdge(env: Record<string, unknown>, options: BuildOptions): Promise<BuiltEdge> {
  const config = configFromBindings(env);
  const strings = stringBindings(env);
  const database = strings.DATABASE_URL
    ? createDatabaseSource(loadDataConfig(strings), {
        perUse: options.perUseDatabase,
        webSocket: options.webSocket,
      })
    : null;
  const services = await createServices(config, {
    ...options.deps,
    data: database ? createPostgresDataAccess(database) : null,
    database,
  });
  const routing = createEdgeRouting({
    config: loadConfig(edgeRoutingConfigSchema, strings, 'edge routing'),
    origins: config.ORIGINS,
    signingKey: config.ORIGIN_SIGNING_KEY,
    redis: services.redis,
    loadModelSettings: database ? (name) => database.use((h) => findModelSettings(h.db, name)) : null,
    logger: services.logger,
    now: services.now,
    ...(options.originFetch ? { fetch: options.originFetch } : {}),
  });
  services.routing = routing;
  services.cacheLookup = routing.startCacheLookup;
  const app = createApp(services, { platform: options.platform });
  return { app, services, database };
}
