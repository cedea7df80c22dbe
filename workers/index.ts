import type { ExportedHandler, ScheduledController } from '@cloudflare/workers-types';
import type { ExecutionContext } from 'hono';
import { AppError } from '../shared/errors/app-error.ts';
import { toErrorResponse } from '../shared/errors/index.ts';
import { createWorkersPlatform, mtlsOriginFetch, workersLastKnownStore } from './adapters/workers.ts';
import type { BuiltEdge } from './build.ts';
import type { Bindings } from './env.ts';

// One app and one set of services per isolate: caches, limiter buckets and the Redis client are reused by
// every request the isolate serves.
let built: Promise<BuiltEdge> | null = null;

function edgeFor(env: Bindings): Promise<BuiltEdge> {
  if (!built) {
    // Loaded on first use, not at module load: cockatiel calls AbortController.abort() at module scope, which
    // workerd refuses in the global scope ("Disallowed operation"), so the worker would not start at all.
    // esbuild keeps a dynamically imported module's top level inside a lazy initialiser.
    built = Promise.all([import('./build.ts'), import('./config.ts')]).then(
      ([{ buildEdge }, { readEdgeSettings }]) =>
        buildEdge(readEdgeSettings(env), {
          perUseDatabase: true,
          platform: (c) => createWorkersPlatform(c.executionCtx),
          deps: {
            isolatedRequests: true,
            originFetch: mtlsOriginFetch(env as Record<string, unknown>),
            lastKnown: workersLastKnownStore(),
          },
        }),
    );
    // A bad configuration is reported on every request until fixed (a redeploy), not cached as a crash.
    built.catch(() => {
      built = null;
    });
  }
  return built;
}

/**
 * What a worker whose configuration does not load answers: alive (a restart would not help; a redeploy
 * will), not ready, and 500 for everything else.
 */
function misconfigured(path: string): Response {
  if (path === '/v2/health/live') return Response.json({ live: true });
  if (path === '/v2/health/ready') {
    return Response.json(
      { ready: false, dependencies: {}, error: 'edge configuration invalid; see the worker logs' },
      { status: 503 },
    );
  }
  return toErrorResponse(new AppError('INTERNAL', 'edge is misconfigured; see the worker logs'));
}

async function fetchHandler(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
  let edge: BuiltEdge;
  try {
    edge = await edgeFor(env);
  } catch (err) {
    console.error(
      JSON.stringify({
        level: 'error',
        service: 'aiserve-edge',
        msg: 'edge configuration invalid',
        err: String(err),
      }),
    );
    return misconfigured(new URL(request.url).pathname);
  }
  return edge.app.fetch(request, env, ctx);
}

/**
 * Each Cron Trigger invocation runs the fleet reconcile and one bounded usage drain pass, side by side: one
 * failing does not stop the other; then the first failure is rethrown, so the invocation shows as failed.
 */
async function scheduledHandler(
  controller: ScheduledController,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  const edge = await edgeFor(env);
  // Usage events this isolate holds after failed writes are retried even when no request comes.
  ctx.waitUntil(edge.services.usage.flush().catch(() => {}));
  const [{ runScheduledReconcile }, { runScheduledUsageDrain }] = await Promise.all([
    import('./control/scheduled.ts'),
    import('./stores/usage/drain-pass.ts'),
  ]);
  const logger = edge.services.logger.child({ cron: controller.cron });
  const outcomes = await Promise.allSettled([
    runScheduledReconcile({ env, database: edge.database, redis: edge.services.redis, logger }),
    runScheduledUsageDrain({ env, config: edge.services.config, database: edge.database, logger }),
  ]);
  const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ job: i, err: o.reason }] : []));
  for (const f of failures) {
    logger.error({ err: f.err }, `scheduled: ${f.job === 0 ? 'fleet reconcile' : 'usage drain'} failed`);
  }
  const failed = failures[0];
  if (failed) throw failed.err;
}

export default {
  fetch: fetchHandler as unknown as ExportedHandler<Bindings>['fetch'],
  scheduled: scheduledHandler as unknown as ExportedHandler<Bindings>['scheduled'],
} satisfies ExportedHandler<Bindings>;
