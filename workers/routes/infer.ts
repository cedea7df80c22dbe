import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { AppError } from '../../shared/errors/index.ts';
import { inferRequestSchema } from '../../shared/protocol/infer-request.ts';
import { errorResponseSchema, inferResponseSchema } from '../../shared/protocol/infer-response.ts';
import {
  type CacheLookupResult,
  type CacheRequest,
  type ResponseCacheLayer,
  requestJsonId,
} from '../cache/lookup.ts';
import { isStorableResponse } from '../cache/policy.ts';
import type { AppEnv } from '../env.ts';
import type { ParsedInference } from '../middleware/infer-body/index.ts';
import { Deadline, resolveDeadlineMs, TIMEOUT_HEADER } from '../routing/deadline.ts';
import type { EdgeRouting } from '../routing/edge-routing.ts';
import { answerFrom, type OriginAnswer } from '../routing/origin-answer.ts';
import { forwardedHeaders, originPath } from '../routing/origin-request.ts';
import {
  type StoredResponse,
  storableHeaders,
  toResponse,
  withResponseId,
} from '../stores/responses/stored-response.ts';
import { clientTrace } from './client-trace.ts';
import { modelParams, modelVersionParams } from './model-params.ts';
import { timeOrigin } from './origin-time.ts';

const cacheHeaders = z.object({
  'cache-control': z.string().optional().openapi({
    description: '`no-cache`: skip cached answers and store the fresh one; `no-store`: bypass the cache',
  }),
  'x-request-timeout-ms': z.string().optional().openapi({
    description:
      'Deadline for this request in milliseconds, instead of REQUEST_DEADLINE_MS (default 30000); at most REQUEST_DEADLINE_MAX_MS (default 120000)',
  }),
  'inference-header-content-length': z
    .string()
    .optional()
    .openapi({ description: 'Binary tensor extension: length of the JSON header at the start of the body' }),
});

const responses = {
  200: {
    description:
      'The origin’s answer, passed through. `X-Cache` says where it came from: HIT-EDGE, HIT-REDIS, MISS or BYPASS.',
    content: {
      'application/json': { schema: inferResponseSchema.openapi('InferResponse') },
      'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
    },
  },
  400: {
    description: 'Malformed request (the message says what)',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
  404: {
    description: 'Unknown model or version',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
  503: {
    description:
      'No healthy origin (all down or breakers open), or the origin is overloaded; see Retry-After',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
  504: {
    description: 'The request’s deadline passed',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
};

const body = {
  required: true,
  content: {
    'application/json': { schema: inferRequestSchema.openapi('InferRequest') },
    'application/octet-stream': {
      schema: z
        .string()
        .openapi({ format: 'binary', description: 'JSON header followed by raw tensor bytes' }),
    },
  },
};

const inferRoute = createRoute({
  method: 'post',
  path: '/v2/models/{model}/infer',
  tags: ['inference'],
  summary: 'Run inference (Open Inference Protocol; JSON or binary tensors), cached per the model’s policy',
  request: { params: modelParams, headers: cacheHeaders, body },
  responses,
});

const inferVersionRoute = createRoute({
  method: 'post',
  path: '/v2/models/{model}/versions/{version}/infer',
  tags: ['inference'],
  summary: 'Run inference on a specific model version',
  request: { params: modelVersionParams, headers: cacheHeaders, body },
  responses,
});

function cacheRequestOf(c: Context<AppEnv>, inference: ParsedInference): CacheRequest {
  return {
    inference,
    tenantId: c.get('auth')?.tenantId ?? null,
    cacheControl: c.req.header('cache-control'),
    pragma: c.req.header('pragma'),
  };
}

/**
 * Starts the response-cache lookup of an inference request (undefined for other requests). The rate-limit
 * middleware calls it in the same tick as its limiter, so both Redis commands share one round trip; the
 * handler calls it itself when the limiter did not.
 */
export function startCacheLookup(
  c: Context<AppEnv>,
  cache: ResponseCacheLayer,
): Promise<CacheLookupResult> | undefined {
  const inference = c.get('inference');
  if (!inference) return undefined;
  const span = c.get('trace')?.startSpan('cache lookup');
  const lookup = cache.lookup(cacheRequestOf(c, inference), c.get('platform'));
  if (!span) return lookup;
  lookup.then(
    (result) => {
      span.setAttribute('aiserve.cache.result', result.status);
      span.end();
    },
    () => {
      span.fail('cache lookup failed');
      span.end();
    },
  );
  return lookup;
}

/**
 * `POST …/infer` at the edge: the cache lookup (started by the rate limiter, or here), then on a miss one
 * origin call per key in this isolate (coalesced), the answer passed through with `X-Cache`, and a 200
 * stored per the model's policy in the background. Errors propagate as AppErrors and are never cached.
 */
async function runInference(c: Context<AppEnv>, routing: EdgeRouting): Promise<Response> {
  const inference = c.get('inference');
  if (!inference) throw new AppError('INVALID_REQUEST', 'the request has no inference body');
  const lookup = await (c.get('cacheLookup') ?? startCacheLookup(c, routing.cache));
  if (lookup?.response) {
    c.set('cacheResult', lookup.status);
    c.set('originId', null);
    return lookup.response;
  }
  const plan = await routing.cache.plan(cacheRequestOf(c, inference));
  const parameters = (inference.request as { parameters?: Record<string, unknown> }).parameters;
  const deadline = new Deadline(
    resolveDeadlineMs(routing.deadlines, c.req.header(TIMEOUT_HEADER), parameters?.timeout),
  );
  const platform = c.get('platform');
  const trace = clientTrace(c);
  const headers = forwardedHeaders(trace, inference.contentType);
  if (inference.headerLength !== null)
    headers['inference-header-content-length'] = String(inference.headerLength);
  const send = async (): Promise<OriginAnswer> =>
    answerFrom(
      await routing.origins.send({
        method: 'POST',
        path: originPath(inference.model, inference.version, '/infer'),
        body: inference.rawBody,
        headers,
        model: inference.model,
        version: inference.version,
        // No client signal: coalesced callers share this call, and one caller leaving must not fail the others.
        deadline,
        // The attempts are in the trace of the request that made them (a coalesced follower's has none).
        ...(trace.attempts ? { attempts: trace.attempts } : {}),
      }),
      platform.now(),
    );

  const { answer, leader } = await timeOrigin(
    c,
    async (): Promise<{ answer: OriginAnswer; leader: boolean }> => {
      if (!plan.key) return { answer: await send(), leader: true };
      let run = routing.coalescer.run(plan.key, send);
      try {
        return { answer: await run.promise, leader: run.leader };
      } catch (err) {
        if (run.leader) throw err;
        // The call this request joined failed under its leader's deadline, or with its leader's request (on
        // Workers a cancelled request takes its I/O with it). Once more under this request's own deadline,
        // coalesced again, so the followers that retry share one new call.
        run = routing.coalescer.run(plan.key, send);
        return { answer: await run.promise, leader: run.leader };
      }
    },
  );
  if (
    leader &&
    plan.key &&
    plan.decision.write &&
    isStorableResponse(answer.status, new Headers(answer.headers))
  ) {
    const stored: StoredResponse = {
      status: answer.status,
      headers: storableHeaders(new Headers(answer.headers)),
      body: answer.body,
      storedAt: answer.storedAt,
    };
    routing.cache.store(platform, plan.key, stored, plan.decision.ttlSeconds);
  }
  const status = plan.decision.bypass ? 'BYPASS' : 'MISS';
  c.set('cacheResult', status);
  c.set('originId', answer.originId);
  // A coalesced caller gets the leader's answer under its own request `id`.
  const mine = leader ? answer : withResponseId(answer, requestJsonId(inference));
  return toResponse(mine, { 'x-cache': status });
}

/**
 * Registers both infer paths. The body was already read, size-checked and parsed by the infer-body
 * middleware (auth and the limiter need the model and batch size), so the routes are documented in the
 * OpenAPI registry and served by a plain handler instead of being validated a second time.
 */
export function registerInfer(app: OpenAPIHono<AppEnv>, routing: EdgeRouting): void {
  app.openAPIRegistry.registerPath(inferRoute);
  app.openAPIRegistry.registerPath(inferVersionRoute);
  app.post('/v2/models/:model/infer', (c) => runInference(c, routing));
  app.post('/v2/models/:model/versions/:version/infer', (c) => runInference(c, routing));
}
