import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { TENANTLESS_USAGE_STATUSES, type UsageEvent } from '../../../shared/usage/event.ts';
import type { CacheStatus } from '../../cache/lookup.ts';
import type { EdgeMetrics } from '../../observability/metrics.ts';
import type { UsageSink } from '../../stores/usage/usage-sink.ts';
import type { AuthVariables } from '../auth/index.ts';
import type { EdgeContextVariables } from '../edge-context/index.ts';
import type { InferBodyVariables } from '../infer-body/index.ts';
import type { RequestIdVariables } from '../request-id/index.ts';

/** What the routes tell the usage event about their answer. */
export interface UsageVariables {
  /** Set by the inference and metadata routes: where the answer came from (their `X-Cache`). */
  cacheResult: CacheStatus | undefined;
  /** Set by the routes that forward: the origin that answered; null when none did (a cache hit). */
  originId: string | null | undefined;
  /**
   * Set by the routes that forward: milliseconds this request waited on the origin (retries and a coalesced
   * wait included), also when the origin call failed; unset when no origin was asked.
   */
  originMs: number | undefined;
}

type UsageEnv = {
  Variables: UsageVariables &
    AuthVariables &
    InferBodyVariables &
    RequestIdVariables &
    Pick<EdgeContextVariables, 'platform' | 'startedAt'>;
};

/** The route template (`/v2/models/:name/infer`), so usage groups by operation rather than by raw path. */
function routeOf(c: Context): string {
  const template = routePath(c, -1);
  const route = `${c.req.method} ${template && template !== '/*' && template !== '*' ? template : c.req.path}`;
  return route.slice(0, 256);
}

function usageEventFor(c: Context<UsageEnv>, nowMs: number): UsageEvent | null {
  const auth = c.get('auth');
  // Without a tenant only the refusals the edge-wide counters need (auth failures, rate limiting) are
  // recorded; the operator's own requests are not usage.
  const tenantId = auth?.tenantId ?? null;
  if (tenantId === null && (auth?.operator || !TENANTLESS_USAGE_STATUSES.has(c.res.status))) return null;
  const inference = c.get('inference');
  const originMs = c.get('originMs');
  const model = inference?.model ?? null;
  return {
    id: crypto.randomUUID(),
    ts: Math.floor(nowMs),
    tenantId,
    keyId: auth?.keyId ?? null,
    model: model && model.length <= 256 ? model : null,
    version: inference?.version && inference.version.length <= 64 ? inference.version : null,
    route: routeOf(c),
    status: c.res.status,
    latencyMs: Math.max(0, nowMs - c.get('startedAt')),
    cache: c.get('cacheResult') ?? 'NONE',
    items: inference?.items ?? 0,
    requestId: c.get('requestId'),
    originId: c.get('originId') ?? null,
    originMs: originMs === undefined ? null : Math.max(0, originMs),
  };
}

/**
 * One usage event per authenticated request (tenant, key, model, status, latency, origin time, cache result,
 * items), written after the response through `waitUntil`, so the caller never waits and a failed write never
 * fails the request. The sink counts what it stores, holds for a retry, or drops; a write it reports as failed
 * is counted and logged here. Sits outside auth so it also sees 4xx answers to valid keys, and the 401, 403
 * and 429 answers to requests without one (recorded without a tenant, for the edge-wide rollups).
 *
 * @example
 * app.use('*', usage({ sink, metrics }));
 */
export function usage(options: { sink: UsageSink; metrics: EdgeMetrics }): MiddlewareHandler<UsageEnv> {
  const { metrics } = options;
  return async function usageMiddleware(c, next) {
    await next();
    const event = usageEventFor(c, c.get('platform').now());
    if (!event) return;
    const logger = c.get('logger');
    c.get('platform').waitUntil(
      options.sink.record(event).catch((err: unknown) => {
        metrics.inc('edge_usage_failures_total');
        logger.error({ err, eventId: event.id }, 'usage event could not be written');
      }),
    );
  };
}
