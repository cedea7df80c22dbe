import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from '@upstash/redis';
import { edgeRoutingConfigSchema } from '../../../shared/config/edge-routing.ts';
import { loadConfig } from '../../../shared/config/load.ts';
import { createNodePlatform } from '../../../workers/adapters/node.ts';
import { createApp } from '../../../workers/app.ts';
import type { ModelCacheSettings } from '../../../workers/cache/policy.ts';
import type { AppEnv } from '../../../workers/env.ts';
import { registerInfer } from '../../../workers/routes/infer.ts';
import { registerModelMetadata } from '../../../workers/routes/model-metadata.ts';
import { registerModelReady } from '../../../workers/routes/model-ready.ts';
import { createEdgeRouting, type EdgeRouting } from '../../../workers/routing/edge-routing.ts';
import { configFromBindings, createServices } from '../../../workers/services.ts';
import { MemoryData, makeKey, type TestKey } from '../edge-fixture.ts';
import { SIGNING } from '../routing/fake-origins.ts';

export interface RoutedEdge {
  app: OpenAPIHono<AppEnv>;
  routing: EdgeRouting;
  settle(): Promise<void>;
  clock: { now: number };
  keys: TestKey[];
  /** Model settings as the models table would answer (absent: defaults). */
  models: Map<string, ModelCacheSettings>;
  call(
    path: string,
    init?: { key?: TestKey; body?: string | Uint8Array; headers?: Record<string, string>; method?: string },
  ): Promise<Response>;
}

/**
 * The real edge app (EDGE-APP's createApp and middleware chain) with this team's routes and routing
 * services, in-memory Postgres stand-in for keys, and origins given as `id=url` specs. Redis optional (the
 * real client through the bridge); without it the response cache is the in-isolate tier.
 */
export async function routedEdge(options: {
  origins: string[];
  env?: Record<string, string>;
  redis?: Redis | null;
  tenants?: number;
  /** Reuse another edge's keys (a second isolate of the same deployment). */
  keys?: TestKey[];
  models?: Map<string, ModelCacheSettings>;
  /** The picker's RNG (reproducible origin choice). */
  random?: () => number;
}): Promise<RoutedEdge> {
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const data = new MemoryData();
  const keys: TestKey[] = [...(options.keys ?? [])];
  for (let i = 0; i < (options.keys ? 0 : (options.tenants ?? 2)); i++) {
    keys.push(await makeKey({ tenant: { requestsPerMinute: 100_000, burst: 10_000 } }));
  }
  for (const k of keys) data.records.set(k.record.prefix, k.record);
  const env = {
    LOG_LEVEL: 'silent',
    ENVIRONMENT: 'test',
    ORIGIN_SIGNING_KEY: `${SIGNING.keyId}:${SIGNING.secret}`,
    STATIC_ORIGINS: options.origins.join(','),
    ...options.env,
  } as Record<string, string>;
  const config = configFromBindings(env);
  const routingConfig = loadConfig(edgeRoutingConfigSchema, env, 'edge routing');
  const services = await createServices(config, { data, now, redis: options.redis ?? null });
  const models = options.models ?? new Map<string, ModelCacheSettings>();
  const routing = createEdgeRouting({
    config: routingConfig,
    origins: config.ORIGINS,
    signingKey: config.ORIGIN_SIGNING_KEY,
    redis: options.redis ?? null,
    loadModelSettings: async (name) => models.get(name) ?? null,
    logger: services.logger,
    now,
    random: options.random,
  });
  services.cacheLookup = routing.startCacheLookup;
  const node = createNodePlatform({ now });
  const app = createApp(services, { platform: () => node.platform });
  registerInfer(app, routing);
  registerModelMetadata(app, routing);
  registerModelReady(app, routing);
  return {
    app,
    routing,
    settle: node.settle,
    clock,
    keys,
    models,
    async call(path, init = {}) {
      const key = init.key ?? keys[0]!;
      const headers: Record<string, string> = { authorization: `Bearer ${key.key}`, ...init.headers };
      if (init.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      return app.request(path, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        body: init.body as BodyInit | undefined,
      });
    },
  };
}

export function inferJson(values: number[], id?: string): string {
  return JSON.stringify({
    ...(id ? { id } : {}),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }],
  });
}
