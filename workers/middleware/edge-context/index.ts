import type { Context, MiddlewareHandler } from 'hono';
import type { Platform } from '../../adapters/platform.ts';
import type { Services } from '../../services.ts';

export interface EdgeContextVariables {
  /** Everything built once per isolate (stores, caches, router, logger, metrics), for the routes. */
  services: Services;
  /** The runtime's waitUntil, Cache API and clock for this request. */
  platform: Platform;
  /** Epoch ms when the request entered the edge. */
  startedAt: number;
}

export interface EdgeContextOptions {
  services: Services;
  /** The runtime's platform for one request (`adapters/workers.ts`, `adapters/node.ts`). */
  platform(c: Context): Platform;
}

/**
 * First in the chain: gives the request the isolate's services and its runtime platform, notes when it
 * arrived, and counts it.
 *
 * @example
 * app.use('*', edgeContext({ services, platform: (c) => createWorkersPlatform(c.executionCtx) }));
 */
export function edgeContext(
  options: EdgeContextOptions,
): MiddlewareHandler<{ Variables: EdgeContextVariables }> {
  const { services } = options;
  return async function edgeContextMiddleware(c, next) {
    c.set('services', services);
    services.metrics.inc('edge_requests_total');
    const platform = options.platform(c);
    c.set('platform', platform);
    c.set('startedAt', platform.now());
    await next();
  };
}
