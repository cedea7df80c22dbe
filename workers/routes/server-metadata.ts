import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { AISERVE_VERSION } from '../../shared/version.ts';
import type { AppEnv } from '../env.ts';

/**
 * Open Inference Protocol extensions a client can use through the edge: binary tensors and request
 * `parameters` (priority, timeout) pass through to the origin unchanged. The model repository extension is the
 * origins' operator API and is not exposed here.
 */
const EDGE_EXTENSIONS = ['binary_tensor_data', 'parameters', 'schedule_policy'];

const serverMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .openapi('ServerMetadata');

const serverMetadataRoute = createRoute({
  method: 'get',
  path: '/v2',
  tags: ['health'],
  summary: 'Server metadata (Open Inference Protocol): name, version and supported extensions',
  responses: {
    200: { description: 'metadata', content: { 'application/json': { schema: serverMetadataSchema } } },
  },
});

/** `GET /v2` as the protocol defines it, answered by the edge itself (no key needed, as on the origin). */
export function registerServerMetadata(app: OpenAPIHono<AppEnv>): void {
  app.openapi(serverMetadataRoute, (c) =>
    c.json({ name: 'aiserve-edge', version: AISERVE_VERSION, extensions: EDGE_EXTENSIONS }, 200),
  );
}
