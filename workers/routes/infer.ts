import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { inferRequestSchema } from '../../shared/protocol/infer-request.ts';
import { errorResponseSchema, inferResponseSchema } from '../../shared/protocol/infer-response.ts';
import type { AppEnv } from '../env.ts';
import type { EdgeRouting } from '../routing/edge-routing.ts';
import { runInference } from '../routing/inference.ts';

const modelParam = z
  .string()
  .min(1)
  .max(256)
  .openapi({ param: { name: 'model', in: 'path' }, example: 'ocr-cls' });
const versionParam = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: 'version', in: 'path' }, example: '1' });

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

export const inferRoute = createRoute({
  method: 'post',
  path: '/v2/models/{model}/infer',
  tags: ['inference'],
  summary: 'Run inference (Open Inference Protocol; JSON or binary tensors), cached per the model’s policy',
  request: { params: z.object({ model: modelParam }), headers: cacheHeaders, body },
  responses,
});

export const inferVersionRoute = createRoute({
  method: 'post',
  path: '/v2/models/{model}/versions/{version}/infer',
  tags: ['inference'],
  summary: 'Run inference on a specific model version',
  request: { params: z.object({ model: modelParam, version: versionParam }), headers: cacheHeaders, body },
  responses,
});

export type InferResponse = z.infer<typeof inferResponseSchema>;

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
