import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, type ErrorCode, isAppError, toErrorResponse } from '../shared/errors/index.ts';
import { allowedMethodsOf } from '../shared/http/allowed-methods.ts';
import type { Platform } from './adapters/platform.ts';
import type { AppEnv } from './env.ts';
import { adminRefusalAudit } from './middleware/admin-audit/index.ts';
import { auth } from './middleware/auth/index.ts';
import { presentsHeldKey } from './middleware/auth/presented-key.ts';
import { bodyLimit } from './middleware/body-limit/index.ts';
import { edgeContext } from './middleware/edge-context/index.ts';
import { inferBody } from './middleware/infer-body/index.ts';
import { authFailureLimit } from './middleware/rate-limit/auth-failures.ts';
import { rateLimit } from './middleware/rate-limit/index.ts';
import { requestId } from './middleware/request-id/index.ts';
import { securityHeaders } from './middleware/security-headers/index.ts';
import { usage } from './middleware/usage/index.ts';
import { registerRoutes } from './routes/index.ts';
import { startCacheLookup } from './routes/infer.ts';
import type { Services } from './services.ts';

export interface AppOptions {
  /** The runtime's waitUntil, Cache API and clock for one request (`adapters/workers.ts`, `adapters/node.ts`). */
  platform(c: Context): Platform;
}

const HEALTH_PATHS = new Set(['/v2/health/live', '/v2/health/ready']);

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 405) return 'METHOD_NOT_ALLOWED';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status >= 400 && status < 500) return 'INVALID_REQUEST';
  return 'INTERNAL';
}

const TARGET_NAMES: Record<string, string> = {
  json: 'JSON body',
  query: 'query string',
  param: 'path parameter',
  header: 'header',
  form: 'form body',
  cookie: 'cookie',
};

/** zod-openapi validation failures as the one JSON error body, naming each bad field. */
function validationError(issues: { path: PropertyKey[]; message: string }[], where: string): AppError {
  const detail = issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return new AppError('INVALID_REQUEST', `invalid ${where}: ${detail}`);
}

/**
 * The edge app, from the services built whole. Middleware order (ARCHITECTURE.md): context → request id →
 * security headers/CORS → usage (outside auth, so it records every answer to a valid key) → admin refusal audit
 * (admin routes: 401/403 to the audit log, sampled) → auth-failure limit (per IP, keyed routes) → body limit →
 * auth → infer body → rate limit (which also starts the cache lookup; not on the health routes) → routes.
 * Errors from anywhere are rendered once, by `onError`.
 */
export function createApp(services: Services, options: AppOptions): OpenAPIHono<AppEnv> {
  const { config, metrics, routing } = services;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(result.error.issues, TARGET_NAMES[result.target] ?? result.target);
    },
  });

  app.use('*', edgeContext({ services, platform: options.platform }));
  app.use('*', requestId({ logger: services.logger, tracing: services.tracing }));
  app.use(
    '*',
    securityHeaders({ hstsMaxAgeSeconds: config.HSTS_MAX_AGE_SECONDS, corsOrigins: config.CORS_ORIGINS }),
  );
  app.use('*', usage({ sink: services.usage, metrics }));
  // Outside body limit and auth: their refusals of requests without a valid key are what it charges.
  const limiters = {
    limiter: services.limiter,
    fallback: services.fallbackLimiter,
    failureMode: config.RATE_LIMIT_FAILURE_MODE,
    ip: { perMinute: config.RATE_LIMIT_IP_PER_MINUTE, burst: config.RATE_LIMIT_IP_BURST },
    metrics,
  };
  const failures = authFailureLimit({
    ...limiters,
    knownKey: (c) => presentsHeldKey(c.req.header('authorization'), services.keys),
    now: services.now,
  });
  app.use('/v2/models/*', failures);
  // Outside the failure limit: the 401s and 403s it lets through are audited (sampled); its 429s are not.
  app.use('/admin/v1/*', adminRefusalAudit({ database: services.database, metrics, now: services.now }));
  app.use('/admin/v1/*', failures);
  app.use('/v2/*', bodyLimit({ maxBytes: config.MAX_BODY_BYTES }));
  app.use('/admin/*', bodyLimit({ maxBytes: config.ADMIN_MAX_BODY_BYTES }));
  const authDeps = {
    keys: services.keys,
    touch: services.touch,
    operatorTokenHash: services.operatorTokenHash,
    metrics,
  };
  app.use('/v2/models/*', auth({ ...authDeps, scope: 'model', modelSettings: routing?.settings }));
  app.use('/admin/v1/*', auth({ ...authDeps, scope: 'admin' }));
  // After auth: a request without a valid key gets its 401 before anyone parses (up to 64 MiB of) its body.
  // Before the limiter, which charges the items in the body.
  app.use('/v2/models/*', inferBody({ maxJsonBytes: config.MAX_JSON_BODY_BYTES }));
  const cache = routing?.cache;
  app.use(
    '*',
    rateLimit({
      ...limiters,
      startCacheLookup: cache ? (c) => startCacheLookup(c, cache) : null,
      // Probes are not charged: a load balancer must never see a 429 (or, failing closed, a 503) from the
      // health routes, and readiness answers from its own cache rather than at a Redis round trip per probe.
      exemptPaths: HEALTH_PATHS,
    }),
  );

  registerRoutes(app, services);

  const allowedMethods = allowedMethodsOf(() => app.routes);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length === 0) {
      return toErrorResponse(
        new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`),
        c.get('requestId'),
      );
    }
    const response = toErrorResponse(
      new AppError(
        'METHOD_NOT_ALLOWED',
        `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`,
      ),
      c.get('requestId'),
    );
    response.headers.set('allow', allowed.join(', '));
    return response;
  });
  app.onError((err, c) => {
    let error: unknown = err;
    if (!isAppError(err) && err instanceof HTTPException) {
      error = new AppError(codeForStatus(err.status), err.message || `HTTP ${err.status}`, { cause: err });
    }
    if (!isAppError(error) || error.status >= 500) {
      const logger = c.get('logger') ?? services.logger;
      logger.error({ err, path: c.req.path, method: c.req.method }, 'request failed');
    }
    const response = toErrorResponse(error, c.get('requestId'));
    if (response.status === 401) response.headers.set('www-authenticate', 'Bearer realm="aiserve"');
    return response;
  });
  return app;
}
