import type { ExportedHandler, ScheduledController } from '@cloudflare/workers-types';
import type { ExecutionContext } from 'hono';
import { AppError } from '../shared/errors/app-error.ts';
import { toErrorResponse } from '../shared/errors/index.ts';
import { createWorkersPlatform, mtlsOriginFetch } from './adapters/workers.ts';
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
          deps: { isolatedRequests: true, originFetch: mtlsOriginFetch(env as Record<string, unknown>) },
        }),
    );
    // A bad configuration is reported on every request until fixed (a redeploy), not cached as a crash.
    built.catch(() => {
      built = null;
    });
  }
  return built;
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
    return toErrorResponse(new AppError('INTERNAL', 'edge is misconfigured; see the worker logs'));
  }
  return edge.app.fetch(request, env, ctx);
}

async function scheduledHandler(
  controller: ScheduledController,
  env: Bindings,
  ctx: ExecutionContext,
): Promise<void> {
  const edge = await edgeFor(env);
  // Usage events this isolate holds after failed writes are retried even when no request comes.
  ctx.waitUntil(edge.services.usage.flush().catch(() => {}));
  const { runScheduledReconcile } = await import('./control/scheduled.ts');
  await runScheduledReconcile({
    env,
    database: edge.database,
    redis: edge.services.redis,
    logger: edge.services.logger.child({ cron: controller.cron }),
  });
}

export default {
  fetch: fetchHandler as unknown as ExportedHandler<Bindings>['fetch'],
  scheduled: scheduledHandler as unknown as ExportedHandler<Bindings>['scheduled'],
} satisfies ExportedHandler<Bindings>;
