import { z } from 'zod';

/** How long an origin's record lives without a heartbeat: three missed beats of the 5 s default interval. */
export const DEFAULT_ORIGIN_TTL_MS = 15_000;

const nonNegative = z.number().finite().nonnegative();

/**
 * One origin as the fleet registry stores it (JSON in Redis). The edge's router reads `url`, `status`,
 * `models` and `load`; the autoscaler reads `load` and `capacity`.
 */
export const originRecordSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, 'id may contain letters, digits and . _ : - only'),
  url: z.string().url(),
  region: z.string().min(1).max(64),
  /** `draining`: finishing its work, takes nothing new; routers must skip it. */
  status: z.enum(['ready', 'draining']),
  models: z.array(z.object({ name: z.string().min(1), versions: z.array(z.string().min(1)) })),
  capacity: z.object({ maxInflight: z.number().int().positive() }),
  load: z.object({
    inflight: z.number().int().nonnegative(),
    queueDepth: z.record(z.string(), z.number().int().nonnegative()),
    p50LatencyMs: nonNegative.nullable(),
    /** 0..1 averaged over the host's GPUs; null without a GPU or a sampler. */
    gpuUtilization: z.number().min(0).max(1).nullable(),
  }),
  startedAt: z.number().int().nonnegative(),
  heartbeatAt: z.number().int().nonnegative(),
  /** The provider instance this origin runs on, when a launcher started it (set from its environment). */
  instanceId: z.string().min(1).nullable(),
});

export type OriginRecord = z.infer<typeof originRecordSchema>;
