import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { errorResponseSchema } from '../../shared/protocol/infer-response.ts';
import { modelMetadataSchema } from '../../shared/protocol/model-metadata.ts';
import type { AppEnv } from '../env.ts';
import { TIMEOUT_HEADER } from '../routing/deadline.ts';
import type { EdgeRouting } from '../routing/edge-routing.ts';
import { getFromOrigin } from '../routing/origin-request.ts';
import { ifNoneMatchHits, type MetadataEntry } from '../stores/metadata/metadata-cache.ts';
import { storableHeaders, toResponse } from '../stores/responses/stored-response.ts';
import { clientTrace } from './client-trace.ts';
import { modelParams, modelVersionParams } from './model-params.ts';
import { timeOrigin } from './origin-time.ts';

const responses = {
  200: {
    description:
      'Model metadata, with a strong `ETag`; `X-Cache: HIT-EDGE` when served from the edge (possibly stale while it refreshes)',
    content: { 'application/json': { schema: modelMetadataSchema.openapi('ModelMetadata') } },
  },
  304: { description: 'Not modified: the `If-None-Match` ETag is current' },
  404: {
    description: 'Unknown model or version',
    content: { 'application/json': { schema: errorResponseSchema } },
  },
  503: { description: 'No healthy origin', content: { 'application/json': { schema: errorResponseSchema } } },
};

const modelMetadataRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}',
  tags: ['models'],
  summary: 'Model metadata (ETag / If-None-Match, stale-while-revalidate at the edge)',
  request: { params: modelParams },
  responses,
});

const modelVersionMetadataRoute = createRoute({
  method: 'get',
  path: '/v2/models/{model}/versions/{version}',
  tags: ['models'],
  summary: 'Metadata of one model version',
  request: { params: modelVersionParams },
  responses,
});

function render(c: Context<AppEnv>, entry: MetadataEntry, xCache: 'HIT-EDGE' | 'MISS'): Response {
  const age = String(Math.max(0, Math.floor((c.get('platform').now() - entry.fetchedAt) / 1000)));
  // Clients may keep it but must revalidate (cheap: a 304) so a model change shows at once.
  const extra = { etag: entry.etag, 'cache-control': 'private, no-cache', 'x-cache': xCache, age };
  if (ifNoneMatchHits(c.req.header('if-none-match'), entry.etag)) {
    const headers = new Headers(extra);
    return new Response(null, { status: 304, headers });
  }
  return toResponse(
    { status: 200, headers: entry.headers, body: entry.body, storedAt: entry.fetchedAt },
    extra,
  );
}

async function serve(c: Context<AppEnv>, routing: EdgeRouting, model: string, version: string | null) {
  const platform = c.get('platform');
  // Timed as origin time unless the cache answered (a fresh or stale entry; a stale one refreshes afterwards).
  const result = await timeOrigin(c, () =>
    routing.metadata.get(
      `${model}\u0000${version ?? ''}`,
      async () => {
        const answer = await getFromOrigin(
          routing,
          {
            model,
            version,
            suffix: '',
            trace: clientTrace(c),
            timeoutHeader: c.req.header(TIMEOUT_HEADER),
            signal: c.req.raw.signal,
          },
          () => platform.now(),
        );
        return {
          status: answer.status,
          entry: { headers: storableHeaders(new Headers(answer.headers)), body: answer.body },
          answer,
        };
      },
      (p) => platform.waitUntil(p),
    ),
  );
  if (result.state === 'fresh' || result.state === 'stale') c.set('originMs', undefined);
  if (result.state === 'uncached') {
    c.set('cacheResult', 'MISS');
    c.set('originId', result.answer.originId);
    return toResponse(result.answer, { 'x-cache': 'MISS' });
  }
  const xCache = result.state === 'miss' ? 'MISS' : 'HIT-EDGE';
  c.set('cacheResult', xCache);
  c.set('originId', null);
  return render(c, result.entry, xCache);
}

/** Registers the metadata GETs (model, and model version). */
export function registerModelMetadata(app: OpenAPIHono<AppEnv>, routing: EdgeRouting): void {
  app.openapi(modelMetadataRoute, (c) => serve(c, routing, c.req.valid('param').model, null));
  app.openapi(modelVersionMetadataRoute, (c) => {
    const { model, version } = c.req.valid('param');
    return serve(c, routing, model, version);
  });
}
