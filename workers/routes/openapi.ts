import type { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import type { AppEnv } from '../env.ts';

const OPENAPI_INFO = {
  title: 'AIServe edge API',
  version: '1.0.0',
  description:
    'Open Inference Protocol (KServe v2) inference through the edge, and the admin API. Authenticate with ' +
    '`Authorization: Bearer ais_live_<prefix>_<secret>` (inference) or an admin token/key (`/admin/v1`).',
};

/**
 * `/openapi.json` generated from the routes' zod schemas (every route is a `createRoute`), and `/docs`, the
 * Scalar reference page reading it (its CSP is `DOCS_CSP` in the security-headers middleware).
 */
export function registerOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'an API key (ais_live_…), or ADMIN_TOKEN for operator routes',
  });
  app.doc31('/openapi.json', { openapi: '3.1.0', info: OPENAPI_INFO });
  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'AIServe API reference' }));
}
