import { z } from 'zod';

/**
 * Wire JSON of an Open Inference Protocol (KServe v2 / Triton) inference request, `POST
 * /v2/models/{m}[/versions/{v}]/infer`. Structural only: element types, ranges, counts against the shape and the
 * binary extension are checked by the origin's codec (origin/protocol/decode-request.ts). Objects are loose so
 * extension fields survive a parse-and-forward.
 */

const inferInputParametersSchema = z.looseObject({
  /** Binary tensor data extension: this input's data is that many bytes after the JSON header. */
  binary_data_size: z.number().int().nonnegative().optional(),
});

const inferRequestInputSchema = z.looseObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  /** A protocol datatype string (BOOL, UINT8…, FP32, BYTES); unknown ones and BF16 are rejected by the origin. */
  datatype: z.string(),
  parameters: inferInputParametersSchema.optional(),
  /**
   * Flat or nested (row-major) element values; absent when parameters.binary_data_size is set. Checked to be an
   * array without walking it: `z.array()` would copy the elements into a new array, one call per element, which
   * for a large tensor doubles the edge's memory for the body and its parse time (the origin checks elements).
   */
  data: z
    .custom<unknown[]>((value) => Array.isArray(value), { message: 'Expected array' })
    // What the OpenAPI document shows for it (zod-to-openapi reads zod's own metadata).
    .meta({ type: 'array', items: {} })
    .optional(),
});

const inferRequestOutputSchema = z.looseObject({
  name: z.string().min(1),
  parameters: z
    .looseObject({
      /** Return this output with the binary extension. */
      binary_data: z.boolean().optional(),
    })
    .optional(),
});

export const inferRequestSchema = z.looseObject({
  id: z.string().optional(),
  parameters: z
    .looseObject({
      /** Default for every output's binary_data. */
      binary_data_output: z.boolean().optional(),
    })
    .optional(),
  inputs: z.array(inferRequestInputSchema).min(1),
  /** Absent or empty: all outputs. */
  outputs: z.array(inferRequestOutputSchema).optional(),
});

export type InferRequestJson = z.infer<typeof inferRequestSchema>;
