import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const positive = z.coerce.number().finite().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** HPA scaling policy for one direction: at most `max(percent, replicas)` change per `periodMs` (select max). */
export interface RateLimit {
  percent: number;
  replicas: number;
  periodMs: number;
  /** `max`: the policy allowing the larger change wins (HPA default); `min`: the smaller. */
  select: 'max' | 'min';
}

/** The autoscaler's knobs. Names follow Kubernetes HPA (windows, policies) and Knative (panic, scale to zero). */
export interface AutoscalerConfig {
  /** Target in-flight (running + queued) requests per ready replica. */
  targetInflightPerReplica: number;
  minReplicas: number;
  maxReplicas: number;
  /** Load is averaged over this window for the normal recommendation (Knative stable window). */
  stableWindowMs: number;
  /** Short window for panic detection and panic scale-up (Knative panic window). */
  panicWindowMs: number;
  /** Panic when panic-window load ≥ this × target × ready replicas (Knative 200 %). */
  panicThreshold: number;
  /** Scale up only to the lowest recommendation of this window (HPA; 0 = at once). */
  scaleUpStabilizationMs: number;
  /** Scale down only to the highest recommendation of this window (HPA default 300 s). */
  scaleDownStabilizationMs: number;
  scaleUp: RateLimit;
  scaleDown: RateLimit;
  /** Let the fleet drop to zero after `idleGraceMs` without load, if a provider boots within the budget. */
  scaleToZero: boolean;
  idleGraceMs: number;
  /** The longest cold start a caller may wait for; scale to zero only if some provider boots faster. */
  coldStartBudgetMs: number;
}

/**
 * Defaults tuned with the simulator (`npm run sim:all`, figures in docs/benchmarks.md): a GPU replica whose 8 slots
 * serve ~100 req/s holds 4 in flight at the target, leaving headroom for the 2-minute boots of GPU hosts.
 */
export const DEFAULT_AUTOSCALER_CONFIG: AutoscalerConfig = {
  targetInflightPerReplica: 4,
  minReplicas: 1,
  maxReplicas: 64,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
  scaleUpStabilizationMs: 0,
  scaleDownStabilizationMs: 300_000,
  scaleUp: { percent: 100, replicas: 4, periodMs: 15_000, select: 'max' },
  scaleDown: { percent: 50, replicas: 2, periodMs: 60_000, select: 'max' },
  scaleToZero: false,
  idleGraceMs: 900_000,
  coldStartBudgetMs: 180_000,
};

const d = DEFAULT_AUTOSCALER_CONFIG;

/**
 * Environment variables of the autoscaler (the reconcile runner and the simulator read them with `loadConfig`).
 * Each field's `.describe()` is its documentation (`npm run docs:config`).
 */
export const autoscalerEnvSchema = z
  .object({
    AUTOSCALER_TARGET_INFLIGHT: positive
      .default(d.targetInflightPerReplica)
      .describe('In-flight (running + queued) requests per ready replica at the target.'),
    AUTOSCALER_MIN_REPLICAS: int(0, 10_000)
      .default(d.minReplicas)
      .describe(
        'Floor of the fleet; `0` needs `AUTOSCALER_SCALE_TO_ZERO=true`. Must not exceed the maximum.',
      ),
    AUTOSCALER_MAX_REPLICAS: int(1, 10_000).default(d.maxReplicas).describe('Ceiling of the fleet.'),
    AUTOSCALER_STABLE_WINDOW_MS: int(1_000)
      .default(d.stableWindowMs)
      .describe("Window of the normal load average, in milliseconds (Knative's stable window)."),
    AUTOSCALER_PANIC_WINDOW_MS: int(1_000)
      .default(d.panicWindowMs)
      .describe(
        "Short window for panic detection and panic scale-up, in milliseconds; at most the stable window (Knative's panic window).",
      ),
    AUTOSCALER_PANIC_THRESHOLD: z.coerce
      .number()
      .min(1)
      .default(d.panicThreshold)
      .describe("Panic when the panic-window load ≥ this × target × ready replicas (Knative's 200 %)."),
    AUTOSCALER_SCALE_UP_STABILIZATION_MS: int(0)
      .default(d.scaleUpStabilizationMs)
      .describe(
        'Grow only to the lowest recommendation of this window, in milliseconds (Kubernetes HPA; `0`: at once).',
      ),
    AUTOSCALER_SCALE_DOWN_STABILIZATION_MS: int(0)
      .default(d.scaleDownStabilizationMs)
      .describe(
        'Shrink only to the highest recommendation of this window, in milliseconds (the HPA default, 300 s).',
      ),
    AUTOSCALER_SCALE_UP_PERCENT: z.coerce
      .number()
      .min(0)
      .default(d.scaleUp.percent)
      .describe('Scale-up allowance per period, as a percentage of the fleet.'),
    AUTOSCALER_SCALE_UP_REPLICAS: int(0)
      .default(d.scaleUp.replicas)
      .describe(
        'Scale-up allowance per period, in replicas (lets a fleet of 0 or 1 grow); not 0 together with the percentage.',
      ),
    AUTOSCALER_SCALE_UP_PERIOD_MS: int(1_000)
      .default(d.scaleUp.periodMs)
      .describe('Scale-up period, in milliseconds.'),
    AUTOSCALER_SCALE_DOWN_PERCENT: z.coerce
      .number()
      .min(0)
      .max(100)
      .default(d.scaleDown.percent)
      .describe('Scale-down allowance per period, as a percentage of the fleet.'),
    AUTOSCALER_SCALE_DOWN_REPLICAS: int(0)
      .default(d.scaleDown.replicas)
      .describe('Scale-down allowance per period, in replicas.'),
    AUTOSCALER_SCALE_DOWN_PERIOD_MS: int(1_000)
      .default(d.scaleDown.periodMs)
      .describe('Scale-down period, in milliseconds.'),
    AUTOSCALER_SELECT_POLICY: z
      .enum(['max', 'min'])
      .default('max')
      .describe(
        'Which allowance wins, in both directions: `max` the larger (the HPA default), `min` the smaller.',
      ),
    AUTOSCALER_SCALE_TO_ZERO: bool
      .default(false)
      .describe(
        'Allow the fleet to reach zero, after `AUTOSCALER_IDLE_GRACE_MS` without load and only if an available provider boots within `AUTOSCALER_COLD_START_BUDGET_MS` (see `CONTROL_PROVIDER_BOOT_MS`).',
      ),
    AUTOSCALER_IDLE_GRACE_MS: int(0)
      .default(d.idleGraceMs)
      .describe('Time without load before scaling to zero, in milliseconds.'),
    AUTOSCALER_COLD_START_BUDGET_MS: int(0)
      .default(d.coldStartBudgetMs)
      .describe(
        'The longest cold start a caller may wait for, in milliseconds: scale to zero only if some provider boots faster.',
      ),
  })
  .superRefine((env, ctx) => {
    if (env.AUTOSCALER_MIN_REPLICAS > env.AUTOSCALER_MAX_REPLICAS) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTOSCALER_MIN_REPLICAS'],
        message: `must not exceed AUTOSCALER_MAX_REPLICAS (${env.AUTOSCALER_MAX_REPLICAS})`,
      });
    }
    if (env.AUTOSCALER_MIN_REPLICAS === 0 && !env.AUTOSCALER_SCALE_TO_ZERO) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTOSCALER_MIN_REPLICAS'],
        message:
          '0 needs AUTOSCALER_SCALE_TO_ZERO=true (which also sets the idle grace and cold-start budget)',
      });
    }
    if (env.AUTOSCALER_PANIC_WINDOW_MS > env.AUTOSCALER_STABLE_WINDOW_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTOSCALER_PANIC_WINDOW_MS'],
        message: `must not exceed AUTOSCALER_STABLE_WINDOW_MS (${env.AUTOSCALER_STABLE_WINDOW_MS})`,
      });
    }
    if (env.AUTOSCALER_SCALE_UP_PERCENT === 0 && env.AUTOSCALER_SCALE_UP_REPLICAS === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTOSCALER_SCALE_UP_REPLICAS'],
        message: 'scale-up percent and replicas are both 0: the fleet could never grow',
      });
    }
  });

export function autoscalerConfigFromEnv(env: z.infer<typeof autoscalerEnvSchema>): AutoscalerConfig {
  return {
    targetInflightPerReplica: env.AUTOSCALER_TARGET_INFLIGHT,
    minReplicas: env.AUTOSCALER_MIN_REPLICAS,
    maxReplicas: env.AUTOSCALER_MAX_REPLICAS,
    stableWindowMs: env.AUTOSCALER_STABLE_WINDOW_MS,
    panicWindowMs: env.AUTOSCALER_PANIC_WINDOW_MS,
    panicThreshold: env.AUTOSCALER_PANIC_THRESHOLD,
    scaleUpStabilizationMs: env.AUTOSCALER_SCALE_UP_STABILIZATION_MS,
    scaleDownStabilizationMs: env.AUTOSCALER_SCALE_DOWN_STABILIZATION_MS,
    scaleUp: {
      percent: env.AUTOSCALER_SCALE_UP_PERCENT,
      replicas: env.AUTOSCALER_SCALE_UP_REPLICAS,
      periodMs: env.AUTOSCALER_SCALE_UP_PERIOD_MS,
      select: env.AUTOSCALER_SELECT_POLICY,
    },
    scaleDown: {
      percent: env.AUTOSCALER_SCALE_DOWN_PERCENT,
      replicas: env.AUTOSCALER_SCALE_DOWN_REPLICAS,
      periodMs: env.AUTOSCALER_SCALE_DOWN_PERIOD_MS,
      select: env.AUTOSCALER_SELECT_POLICY,
    },
    scaleToZero: env.AUTOSCALER_SCALE_TO_ZERO,
    idleGraceMs: env.AUTOSCALER_IDLE_GRACE_MS,
    coldStartBudgetMs: env.AUTOSCALER_COLD_START_BUDGET_MS,
  };
}
