import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { UsageEvent } from '../../../shared/usage/event.ts';
import type { AppEnv } from '../../env.ts';
import type { UsageSink } from '../../stores/usage/usage-sink.ts';

/** The route template (`/v2/models/:name/infer`), so usage groups by operation rather than by raw path. */
function routeOf(c: Context<AppEnv>): string {
  const template = routePath(c, -1);
  const route = `${c.req.method} ${template && template !== '/*' && template !== '*' ? template : c.req.path}`;
  return route.slice(0, 256);
}

export function usageEventFor(c: Context<AppEnv>, nowMs: number): UsageEvent | null {
  const auth = c.get('auth');
  if (!auth?.tenantId) return null;
  const inference = c.get('inference');
  const model = inference?.model ?? null;
  return {
    id: crypto.randomUUID(),
    ts: Math.floor(nowMs),
    tenantId: auth.tenantId,
    keyId: auth.keyId,
    model: model && model.length <= 256 ? model : null,
    version: inference?.version && inference.version.length <= 64 ? inference.version : null,
    route: routeOf(c),
    status: c.res.status,
    latencyMs: Math.max(0, nowMs - c.get('startedAt')),
    cache: c.get('cacheResult') ?? 'NONE',
    items: inference?.items ?? 0,
    requestId: c.get('requestId'),
    originId: c.get('originId') ?? null,
  };
}

/**
 * One usage event per authenticated request (tenant, key, model, status, latency, cache result, items),
 * written after the response through `waitUntil`, so the caller never waits and a failed write never fails
 * the request (it is counted and logged). Sits outside auth so it also sees 4xx answers to valid keys.
 *
 * @example
 * app.use('*', usage({ sink }));
 */
export function usage(options: { sink: UsageSink }): MiddlewareHandler<AppEnv> {
  return async function usageMiddleware(c, next) {
    await next();
    const event = usageEventFor(c, c.get('platform').now());
    if (!event) return;
    const { metrics } = c.get('services');
    const logger = c.get('logger');
    c.get('platform').waitUntil(
      options.sink.record(event).then(
        () => metrics.inc('edge_usage_events_total'),
        (err: unknown) => {
          metrics.inc('edge_usage_failures_total');
          logger.error({ err, eventId: event.id }, 'usage event could not be written');
        },
      ),
    );
  };
}
