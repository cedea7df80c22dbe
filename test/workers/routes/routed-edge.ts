import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from '@upstash/redis';
import { createNodePlatform } from '../../../workers/adapters/node.ts';
import { createApp } from '../../../workers/app.ts';
import type { ModelCacheSettings } from '../../../workers/cache/policy.ts';
import { readEdgeSettings } from '../../../workers/config.ts';
import type { AppEnv } from '../../../workers/env.ts';
import type { EdgeRouting } from '../../../workers/routing/edge-routing.ts';
import { createServices } from '../../../workers/services.ts';
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
 * The real edge app (createApp, its middleware chain and routes) with the response cache and origin router
 * as `createServices` builds them, an in-memory Postgres stand-in for keys and model settings, and origins
 * given as `id=url` specs. Redis optional (the real client through the bridge); without it the response cache
 * is the in-isolate tier.
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
  const models = options.models ?? new Map<string, ModelCacheSettings>();
  const data = new MemoryData(models);
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
  const services = await createServices(readEdgeSettings(env), {
    data,
    now,
    redis: options.redis ?? null,
    random: options.random,
  });
  const node = createNodePlatform({ now });
  const app = createApp(services, { platform: () => node.platform });
  return {
    app,
    routing: services.routing!,
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
