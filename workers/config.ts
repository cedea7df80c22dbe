import { type DataConfig, loadDataConfig } from '../shared/config/data.ts';
import { type EdgeConfig, edgeConfigSchema } from '../shared/config/edge.ts';
import { type EdgeRoutingConfig, edgeRoutingConfigSchema } from '../shared/config/edge-routing.ts';
import { loadConfig } from '../shared/config/load.ts';

/** Everything the edge reads from its bindings. */
export interface EdgeSettings {
  /** The gateway: stores, limits, auth, body limits (`shared/config/edge.ts`). */
  edge: EdgeConfig;
  /** Response cache and origin routing (`shared/config/edge-routing.ts`). */
  routing: EdgeRoutingConfig;
  /** Postgres (`shared/config/data.ts`); null without `DATABASE_URL`, when the edge runs without a database. */
  database: DataConfig | null;
}

/** Only string bindings are configuration; anything else (a KV or service binding) is not read. */
export function stringBindings(env: Record<string, unknown>): Record<string, string | undefined> {
  const strings: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v;
  return strings;
}

/**
 * Reads the edge's whole configuration from its bindings (wrangler vars and secrets, or `process.env` under
 * Node), once per isolate or process, before anything is built. Throws a ConfigError naming every bad variable
 * of the first part that fails, in this order: edge, database, routing.
 */
export function readEdgeSettings(env: Record<string, unknown>): EdgeSettings {
  const strings = stringBindings(env);
  const edge = loadConfig(edgeConfigSchema, strings, 'edge');
  const database = strings.DATABASE_URL ? loadDataConfig(strings) : null;
  const routing = loadConfig(edgeRoutingConfigSchema, strings, 'edge routing');
  return { edge, routing, database };
}
