import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from '@upstash/redis';
import { generateApiKey, hashKeySecret } from '../../shared/keys/api-key.ts';
import type { AuthKeyRecord } from '../../shared/keys/auth-record.ts';
import type { UsageEvent } from '../../shared/usage/event.ts';
import { createNodePlatform } from '../../workers/adapters/node.ts';
import { createApp } from '../../workers/app.ts';
import type { ModelCacheSettings } from '../../workers/cache/policy.ts';
import { readEdgeSettings } from '../../workers/config.ts';
import type { AppEnv } from '../../workers/env.ts';
import { createServices, type Services } from '../../workers/services.ts';
import type { DataAccess } from '../../workers/stores/database/data-access.ts';

/** An in-memory `DataAccess` that records what the edge asked of Postgres. */
export class MemoryData implements DataAccess {
  readonly records = new Map<string, AuthKeyRecord>();
  readonly lookups: string[] = [];
  readonly touched: string[][] = [];
  readonly usage: UsageEvent[] = [];
  failLookups = false;

  /** Model settings as the models table would answer (absent: defaults). */
  constructor(readonly models = new Map<string, ModelCacheSettings>()) {}

  async findKeyForAuth(prefix: string): Promise<AuthKeyRecord | null> {
    this.lookups.push(prefix);
    if (this.failLookups) throw new Error('connection refused');
    return this.records.get(prefix) ?? null;
  }
  async touchKeys(prefixes: string[]): Promise<void> {
    this.touched.push(prefixes);
  }
  async insertUsage(events: UsageEvent[]): Promise<void> {
    this.usage.push(...events);
  }
  async findModelSettings(name: string): Promise<ModelCacheSettings | null> {
    return this.models.get(name) ?? null;
  }
}

export interface TestKey {
  key: string;
  record: AuthKeyRecord;
}

let counter = 0;

/** A fresh key and its stored record (tenant and limits overridable). */
export async function makeKey(
  overrides: Partial<Omit<AuthKeyRecord, 'tenant'>> & { tenant?: Partial<AuthKeyRecord['tenant']> } = {},
): Promise<TestKey> {
  const generated = generateApiKey('test');
  counter += 1;
  const tenantId = overrides.tenantId ?? crypto.randomUUID();
  const record: AuthKeyRecord = {
    keyId: crypto.randomUUID(),
    tenantId,
    prefix: generated.prefix,
    secretHash: await hashKeySecret(generated.secret),
    scopes: ['*'],
    expiresAt: null,
    revokedAt: null,
    ...overrides,
    tenant: {
      id: tenantId,
      name: `tenant-${counter}`,
      plan: 'pro',
      requestsPerMinute: 600,
      burst: 100,
      disabled: false,
      ...overrides.tenant,
    },
  };
  return { key: generated.key, record };
}

export interface TestEdge {
  app: OpenAPIHono<AppEnv>;
  services: Services;
  data: MemoryData;
  logs: string[];
  settle(): Promise<void>;
  clock: { now: number };
}

/**
 * The real app with in-memory stores, a controllable clock and a stub inference route (no response cache or
 * origin router).
 */
export async function testEdge(
  options: {
    env?: Record<string, string>;
    keys?: TestKey[];
    data?: MemoryData;
    services?: Partial<Services>;
    /** Default: none, unless `env` names an Upstash URL (then built from it, as in production). */
    redis?: Redis | null;
  } = {},
): Promise<TestEdge> {
  const clock = { now: 1_750_000_000_000 };
  const now = () => clock.now;
  const data = options.data ?? new MemoryData();
  for (const k of options.keys ?? []) data.records.set(k.record.prefix, k.record);
  const logs: string[] = [];
  const settings = readEdgeSettings({ LOG_LEVEL: 'debug', ENVIRONMENT: 'test', ...options.env });
  const redis =
    options.redis !== undefined ? options.redis : options.env?.UPSTASH_REDIS_REST_URL ? undefined : null;
  const base = await createServices(settings, {
    data,
    now,
    logWrite: (l) => logs.push(l),
    redis,
    routing: false,
  });
  const services = { ...base, ...options.services };
  const node = createNodePlatform({ now });
  const app = createApp(services, { platform: () => node.platform });
  app.post('/v2/models/:name/infer', (c) =>
    c.json({ model_name: c.var.inference?.model, items: c.var.inference?.items, auth: c.var.auth?.tenantId }),
  );
  app.get('/v2/models/:name', (c) => c.json({ name: c.req.param('name') }));
  app.get('/page.html', (c) => c.html('<p>hi</p>'));
  return { app, services, data, logs, settle: node.settle, clock };
}

export function inferBody(batch = 1): string {
  return JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [batch, 2], data: new Array(batch * 2).fill(0.5) }],
  });
}

export function bearer(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...extra };
}
