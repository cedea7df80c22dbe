import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponseSchema } from '../../shared/protocol/infer-response.ts';
import type { AppEnv } from '../env.ts';
import type { EdgeRouting } from '../routing/edge-routing.ts';
import { getFromOrigin } from '../routing/inference.ts';
import { toResponse } from '../stores/responses/stored-response.ts';

const model = z
  .string()
  .min(1)
  .max(256)
  .openapi({ param: { name: 'model', in: 'path' }, example: 'ocr-cls' });
const version = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: 'version', in: 'path' }, example: '1' });

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

export const modelReadyRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}/ready',
  tags: ['models'],
  summary: 'Model readiness, asked live of an origin that serves it (never cached)',
  request: { params: z.object({ model }) },
  responses,
});

export const modelVersionReadyRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}/versions/{version}/ready',
  tags: ['models'],
  summary: 'Readiness of one model version',
  request: { params: z.object({ model, version }) },
  responses,
});

/** Registers the readiness GETs: forwarded live (readiness changes as origins load and drain). */
export function registerModelReady(app: OpenAPIHono<AppEnv>, routing: EdgeRouting): void {
  const handler = async (c: Context<AppEnv>, m: string, v: string | null): Promise<Response> => {
    const answer = await getFromOrigin(c, routing, m, v, '/ready');
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
