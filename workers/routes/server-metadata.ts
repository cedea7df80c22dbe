import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env.ts';

export const EDGE_SERVER_NAME = 'aiserve-edge';
export const EDGE_SERVER_VERSION = '0.1.0';
/**
 * Open Inference Protocol extensions a client can use through the edge: binary tensors and request
 * `parameters` (priority, timeout) pass through to the origin unchanged. The model repository extension is the
 * origins' operator API and is not exposed here.
 */
export const EDGE_EXTENSIONS = ['binary_tensor_data', 'parameters', 'schedule_policy'];

const serverMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .openapi('ServerMetadata');

export const serverMetadataRoute = createRoute({
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
    c.json({ name: EDGE_SERVER_NAME, version: EDGE_SERVER_VERSION, extensions: EDGE_EXTENSIONS }, 200),
  );
}
