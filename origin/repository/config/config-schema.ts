import { z } from 'zod';
import { TRITON_DATATYPES, type TritonDatatype } from './triton-datatypes.ts';

/**
 * config.json's schema, in Triton's JSON field names, strict: an unknown field is an error naming it. Integers
 * may be given as numeric strings ("100"), as protobuf's JSON mapping writes int64 fields.
 */

const numericString = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
const int = (min: number) => z.preprocess(numericString, z.number().int().min(min));
const uint = int(0);
const posInt = int(1);
const dim = int(-1);

const dataType = z
  .string()
  .superRefine((v, ctx) => {
    if (v in TRITON_DATATYPES) return;
    ctx.addIssue({
      code: 'custom',
      message:
        v === 'TYPE_BF16'
          ? 'TYPE_BF16 is not supported (onnxruntime-node has no bfloat16 tensors)'
          : `unknown data_type '${v}' (expected one of ${Object.keys(TRITON_DATATYPES).join(', ')})`,
    });
  })
  .transform((v) => TRITON_DATATYPES[v as TritonDatatype]);

export const tensorSchema = z.strictObject({
  name: z.string().min(1),
  data_type: dataType,
  dims: z.array(dim),
  /** Informational in Triton for ONNX models. */
  format: z.enum(['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW']).optional(),
});

const queuePolicySchema = z.strictObject({
  timeout_action: z.enum(['REJECT', 'DELAY']).optional(),
  default_timeout_microseconds: uint.optional(),
  allow_timeout_override: z.boolean().optional(),
  max_queue_size: uint.optional(),
});

const dynamicBatchingSchema = z.strictObject({
  preferred_batch_size: z.array(posInt).optional(),
  max_queue_delay_microseconds: uint.optional(),
  preserve_ordering: z.boolean().optional(),
  priority_levels: uint.optional(),
  default_priority_level: uint.optional(),
  default_queue_policy: queuePolicySchema.optional(),
  priority_queue_policy: z.record(z.string(), queuePolicySchema).optional(),
  max_queue_size: uint.optional(),
  default_timeout_microseconds: uint.optional(),
});

const instanceGroupSchema = z.strictObject({
  name: z.string().optional(),
  count: posInt.optional(),
  kind: z.enum(['KIND_CPU', 'KIND_GPU', 'KIND_AUTO']).optional(),
  gpus: z.array(uint).min(1).optional(),
});

const versionPolicySchema = z
  .strictObject({
    latest: z.strictObject({ num_versions: posInt.optional() }).optional(),
    all: z.strictObject({}).optional(),
    specific: z.strictObject({ versions: z.array(posInt).min(1) }).optional(),
  })
  .refine((p) => [p.latest, p.all, p.specific].filter((x) => x !== undefined).length === 1, {
    message: 'must have exactly one of latest, all, specific',
  });

const warmupInputSchema = z
  .strictObject({
    data_type: dataType,
    dims: z.array(uint),
    zero_data: z.boolean().optional(),
    random_data: z.boolean().optional(),
  })
  .refine((i) => (i.zero_data === true) !== (i.random_data === true), {
    message: 'set exactly one of zero_data, random_data to true (input_data_file is not supported)',
  });

const warmupSchema = z.strictObject({
  name: z.string().min(1),
  batch_size: uint.optional(),
  count: posInt.optional(),
  inputs: z.record(z.string(), warmupInputSchema),
});

export const modelConfigSchema = z.strictObject({
  name: z.string().min(1).optional(),
  platform: z.literal('onnxruntime_onnx').optional(),
  backend: z.literal('onnxruntime').optional(),
  max_batch_size: uint.optional(),
  default_model_filename: z
    .string()
    .regex(/^[^/\\]+$/, 'must be a file name')
    .optional(),
  input: z.array(tensorSchema).optional(),
  output: z.array(tensorSchema).optional(),
  dynamic_batching: dynamicBatchingSchema.optional(),
  instance_group: z.array(instanceGroupSchema).min(1).optional(),
  version_policy: versionPolicySchema.optional(),
  model_warmup: z.array(warmupSchema).optional(),
  parameters: z.record(z.string(), z.strictObject({ string_value: z.string() })).optional(),
});
