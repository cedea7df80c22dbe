import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponseSchema } from '../../shared/protocol/infer-response.ts';
import type { AppEnv } from '../env.ts';
import { TIMEOUT_HEADER } from '../routing/deadline.ts';
import type { EdgeRouting } from '../routing/edge-routing.ts';
import { getFromOrigin } from '../routing/origin-request.ts';
import { toResponse } from '../stores/responses/stored-response.ts';
import { clientTrace } from './client-trace.ts';
import { modelParams, modelVersionParams } from './model-params.ts';
import { timeOrigin } from './origin-time.ts';

const readySchema = z
  .object({
    name: z.string(),
    version: z.string().optional(),
    ready: z.boolean(),
    error: z.string().optional(),
  })
  .openapi('ModelReady');

const responses = {
  200: {
    description: 'Ready on the origin that answered',
    content: { 'application/json': { schema: readySchema } },
  },
  400: { description: 'Known but not ready', content: { 'application/json': { schema: readySchema } } },
  404: {
    description: 'Unknown model or version',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
  503: {
    description: 'No healthy origin serves the model',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
};

const modelReadyRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}/ready',
  tags: ['models'],
  summary: 'Model readiness, asked live of an origin that serves it (never cached)',
  request: { params: modelParams },
  responses,
});

const modelVersionReadyRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}/versions/{version}/ready',
  tags: ['models'],
  summary: 'Readiness of one model version',
  request: { params: modelVersionParams },
  responses,
});

/** Registers the readiness GETs: forwarded live (readiness changes as origins load and drain). */
export function registerModelReady(app: OpenAPIHono<AppEnv>, routing: EdgeRouting): void {
  const handler = async (c: Context<AppEnv>, m: string, v: string | null): Promise<Response> => {
    const answer = await timeOrigin(c, () =>
      getFromOrigin(
        routing,
        {
          model: m,
          version: v,
          suffix: '/ready',
          trace: clientTrace(c),
          timeoutHeader: c.req.header(TIMEOUT_HEADER),
          signal: c.req.raw.signal,
        },
        () => c.get('platform').now(),
      ),
    );
    c.set('originId', answer.originId);
    return toResponse(answer);
  };
  // Documented from the routes above; the path needs no validation beyond Hono's matching.
  app.openAPIRegistry.registerPath(modelReadyRoute);
  app.openAPIRegistry.registerPath(modelVersionReadyRoute);
  app.get('/v2/models/:model/ready', (c) => handler(c, c.req.param('model'), null));
  app.get('/v2/models/:model/versions/:version/ready', (c) =>
    handler(c, c.req.param('model'), c.req.param('version')),
  );
}
