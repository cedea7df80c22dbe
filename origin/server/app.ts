import { Hono } from 'hono';
import type { Clock } from '../../shared/clock.ts';
import { AppError, toAppError, toErrorResponse } from '../../shared/errors/index.ts';
import { allowedMethodsOf } from '../../shared/http/allowed-methods.ts';
import type { Verifier } from '../../shared/signing/index.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { Logger } from '../observability/logger.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { noopTracing, type Tracing } from '../observability/tracing.ts';
import type { JsonParsePool } from '../protocol/json-parse/pool.ts';
import type { Readiness } from '../readiness.ts';
import type { ModelRepository } from '../repository/repository.ts';
import { registerHealthLive } from '../routes/health-live.ts';
import { registerHealthReady } from '../routes/health-ready.ts';
import { registerInfer } from '../routes/infer.ts';
import { registerMetrics } from '../routes/metrics.ts';
import { registerModelMetadata } from '../routes/model-metadata.ts';
import { registerModelReady } from '../routes/model-ready.ts';
import { registerRepositoryIndex } from '../routes/repository-index.ts';
import { registerRepositoryLoad } from '../routes/repository-load.ts';
import { registerRepositoryUnload } from '../routes/repository-unload.ts';
import type { RouteDeps } from '../routes/route-deps.ts';
import { registerServerMetadata } from '../routes/server-metadata.ts';
import type { ServedModel } from '../serving/served-model.ts';
import type { AppEnv } from './app-env.ts';
import { readBody } from './body.ts';
import { requestContext } from './request-context.ts';
import { createRequestDecoder } from './request-decoder.ts';
import { TurnBudget } from './turn-budget.ts';
import { verifySignature } from './verify-signature.ts';

export interface OriginAppDeps {
  repository: ModelRepository<ServedModel>;
  lifecycle: Lifecycle;
  readiness: Readiness;
  metrics: OriginMetrics;
  logger: Logger;
  clock: Clock;
  tracing?: Tracing;
  /** null when ORIGIN_AUTH=off. */
  verifier: Verifier | null;
  maxBodyBytes: number;
  modelControl: 'none' | 'explicit';
  /** Paces request decoding and response encoding across event-loop turns; default: DEFAULT_TURN_BUDGET_MS. */
  turnBudget?: TurnBudget;
  /** Parses JSON bodies of at least `minBytes` off the main thread; null/absent: all on the main thread. */
  jsonParser?: { pool: JsonParsePool; minBytes: number } | null;
}

/**
 * Decode/encode work allowed per event-loop turn. One 0.5 MB JSON tensor body takes ~3 ms to parse on the
 * benchmark machine, so this lets one or two through per turn and keeps the loop's lag well under 20 ms, while
 * binary bodies (tens of µs each) still go through a whole burst in one turn.
 */
const DEFAULT_TURN_BUDGET_MS = 2;

/** The origin's HTTP surface: Open Inference Protocol (KServe v2 / Triton REST) plus `/metrics`. */
export function createOriginApp(deps: OriginAppDeps): Hono<AppEnv> {
  const { lifecycle } = deps;
  const turns =
    deps.turnBudget ?? new TurnBudget({ budgetMs: DEFAULT_TURN_BUDGET_MS, now: () => deps.clock.now() });
  const app = new Hono<AppEnv>();

  app.use('*', requestContext({ logger: deps.logger, tracing: deps.tracing ?? noopTracing }));
  app.use('*', async (c, next) => {
    await next();
    // While draining, tell keep-alive clients to reconnect elsewhere instead of reusing this socket.
    if (!lifecycle.acceptsWork) c.header('connection', 'close');
  });
  app.use(
    '*',
    verifySignature({
      verifier: deps.verifier,
      enabled: deps.verifier !== null,
      readBody: (c) => readBody(c, deps.maxBodyBytes),
      onReject: (reason, message) => deps.logger.warn({ reason }, `signature rejected: ${message}`),
    }),
  );

  const routeDeps: RouteDeps = {
    repository: deps.repository,
    lifecycle,
    readiness: deps.readiness,
    metrics: deps.metrics,
    clock: deps.clock,
    maxBodyBytes: deps.maxBodyBytes,
    modelControl: deps.modelControl,
    decodeRequest: createRequestDecoder({ turns, jsonParser: deps.jsonParser ?? null }),
    turns,
  };
  registerHealthLive(app);
  registerHealthReady(app, routeDeps);
  registerServerMetadata(app);
  registerMetrics(app, routeDeps);
  registerModelMetadata(app, routeDeps);
  registerModelReady(app, routeDeps);
  registerInfer(app, routeDeps);
  registerRepositoryIndex(app, routeDeps);
  registerRepositoryLoad(app, routeDeps);
  registerRepositoryUnload(app, routeDeps);

  const allowedMethods = allowedMethodsOf(() => app.routes);
  app.notFound((c) => {
    const known = allowedMethods(c.req.path);
    const allowed = known.length > 0 && !known.includes(c.req.method) ? known : null;
    const err = allowed
      ? new AppError(
          'METHOD_NOT_ALLOWED',
          `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`,
        )
      : new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
    const res = toErrorResponse(err, c.get('requestId'));
    if (allowed) res.headers.set('allow', allowed.join(', '));
    return res;
  });
  app.onError((err, c) => {
    const appError = toAppError(err);
    const log = c.get('log') ?? deps.logger;
    if (appError.status >= 500) log.error({ err, code: appError.code }, appError.message);
    else log.debug({ code: appError.code }, appError.message);
    c.get('span')?.recordError(err);
    return toErrorResponse(appError, c.get('requestId'));
  });
  return app;
}
