import { z } from '@hono/zod-openapi';

/** `{model}` in the inference, metadata and readiness paths. */
const modelName = z
  .string()
  .min(1)
  .max(256)
  .openapi({ param: { name: 'model', in: 'path' }, example: 'ocr-cls' });

/** `{version}` in the same paths' `/versions/{version}` forms. */
const modelVersion = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: 'version', in: 'path' }, example: '1' });

export const modelParams = z.object({ model: modelName });
export const modelVersionParams = z.object({ model: modelName, version: modelVersion });
