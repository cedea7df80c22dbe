import { z } from 'zod';
import { DATATYPES } from './datatypes.ts';

/**
 * Wire JSON of an inference response. With the binary extension this is the JSON header (its length in the
 * `Inference-Header-Content-Length` response header); binary outputs carry parameters.binary_data_size and no
 * data. JSON data is flat row-major; NaN/±Infinity are null; INT64/UINT64 beyond ±(2^53-1) are decimal strings.
 */

const inferResponseOutputSchema = z.looseObject({
  name: z.string(),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int().nonnegative()),
  parameters: z.looseObject({ binary_data_size: z.number().int().nonnegative().optional() }).optional(),
  data: z.array(z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
});

export const inferResponseSchema = z.looseObject({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  outputs: z.array(inferResponseOutputSchema),
});

/** Every error body: `error` is the protocol's field; `code`/`requestId` are ours. */
export const errorResponseSchema = z.looseObject({
  error: z.string(),
  code: z.string().optional(),
  requestId: z.string().optional(),
});
