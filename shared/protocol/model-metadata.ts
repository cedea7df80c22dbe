import { z } from 'zod';
import { DATATYPES } from './datatypes.ts';

/** A tensor in model metadata: -1 is a dynamic dimension (a leading -1 is the batch dim of a batching model). */
const tensorMetadataSchema = z.object({
  name: z.string(),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int().min(-1)),
});

/** `GET /v2/models/{m}[/versions/{v}]`. */
export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.literal('onnxruntime_onnx'),
  inputs: z.array(tensorMetadataSchema),
  outputs: z.array(tensorMetadataSchema),
});

/** `GET /v2`. */
export const serverMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});
