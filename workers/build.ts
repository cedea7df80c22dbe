import type { OpenAPIHono } from '@hono/zod-openapi';
import { type AppOptions, createApp } from './app.ts';
import type { EdgeSettings } from './config.ts';
import type { AppEnv } from './env.ts';
import { createServices, type ServiceDeps, type Services } from './services.ts';
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
  deps?: Omit<ServiceDeps, 'data' | 'database'>;
}

/**
 * The same wiring for both entries (Workers and `npm run edge:node`), from the configuration read once by
 * `readEdgeSettings`: Postgres when `DATABASE_URL` is set, the services (stores, response cache and origin
 * router), the app.
 */
export async function buildEdge(settings: EdgeSettings, options: BuildOptions): Promise<BuiltEdge> {
  const database = settings.database
    ? createDatabaseSource(settings.database, {
        perUse: options.perUseDatabase,
        webSocket: options.webSocket,
      })
    : null;
  const services = await createServices(settings, {
    ...options.deps,
    data: database ? createPostgresDataAccess(database) : null,
    database,
  });
  const app = createApp(services, { platform: options.platform });
  return { app, services, database };
}
