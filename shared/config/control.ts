import { z } from 'zod';
import { autoscalerEnvSchema } from '../fleet/autoscaler-config.ts';
import { int } from './fields.ts';

/**
 * The control plane's reconcile runner (Cron Trigger in the edge worker, or `npm run cli -- fleet …`):
 * providers in failover order, their credentials and base URLs (point them at the local fakes in tests),
 * GPU-type mappings, what launched hosts run, and the lifecycle bounds. Autoscaler knobs come from
 * `shared/fleet/autoscaler-config.ts` and are merged in. Documented in the README.
 */

export const PROVIDER_NAMES = ['vast-ai', 'runpod', 'lambda'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** `ours=theirs,ours=theirs` → record; `=` splits once because provider names contain spaces, never `=`. */
export const mapping = z.string().transform((spec, ctx) => {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const idx = trimmed.indexOf('=');
    if (idx <= 0 || idx === trimmed.length - 1) {
      ctx.addIssue({ code: 'custom', message: `entry "${trimmed}" must be ourType=providerType` });
      return z.NEVER;
    }
    out[trimmed.slice(0, idx).trim()] = trimmed.slice(idx + 1).trim();
  }
  return out;
});

/** `name=number,…` → record; `what` names the value in the error ("price for A100-80GB must be …"). */
const numbersBy = (what: string) =>
  mapping.transform((m, ctx) => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: 'custom', message: `${what} for ${k} must be a non-negative number` });
        return z.NEVER;
      }
      out[k] = n;
    }
    return out;
  });

const prices = numbersBy('price');

const providerOrderSchema = z.string().transform((spec, ctx) => {
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(PROVIDER_NAMES as readonly string[]).includes(n)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown provider "${n}" (known: ${PROVIDER_NAMES.join(', ')})`,
      });
      return z.NEVER;
    }
  }
  return names as ProviderName[];
});

export const controlConfigSchema = z
  .object({
    /** Failover order; default: every provider with an API key, in this order. */
    CONTROL_PROVIDERS: providerOrderSchema.optional(),
    VAST_API_KEY: z.string().optional(),
    RUNPOD_API_KEY: z.string().optional(),
    LAMBDA_API_KEY: z.string().optional(),
    VAST_BASE_URL: z.string().url().default('https://console.vast.ai/api/v0'),
    RUNPOD_BASE_URL: z.string().url().default('https://rest.runpod.io/v1'),
    LAMBDA_BASE_URL: z.string().url().default('https://cloud.lambdalabs.com/api/v1'),
    VAST_GPU_TYPES: mapping.default({ 'A100-80GB': 'A100 SXM4', 'H100-80GB': 'H100 SXM', 'L4-24GB': 'L4' }),
    RUNPOD_GPU_TYPES: mapping.default({
      'A100-80GB': 'NVIDIA A100 80GB PCIe',
      'H100-80GB': 'NVIDIA H100 80GB HBM3',
      'L4-24GB': 'NVIDIA L4',
    }),
    LAMBDA_GPU_TYPES: mapping.default({ 'A100-80GB': 'gpu_1x_a100_sxm4', 'H100-80GB': 'gpu_1x_h100_pcie' }),
    /** On-demand $/h for RunPod offers (REST v1 has no price list). */
    RUNPOD_PRICES: prices.default({ 'A100-80GB': 1.64, 'H100-80GB': 2.39, 'L4-24GB': 0.43 }),
    /** Lambda requires exactly one SSH key name per launch. */
    LAMBDA_SSH_KEY_NAME: z.string().optional(),
    /** Our GPU type new hosts are launched with. */
    CONTROL_GPU_TYPE: z.string().min(1).default('A100-80GB'),
    CONTROL_REGION: z.string().optional(),
    /** The origin container image (built from deploy/origin.Dockerfile); required to launch. */
    CONTROL_ORIGIN_IMAGE: z.string().min(1).optional(),
    CONTROL_DISK_GB: int(8, 4096).default(32),
    /** A host that has not registered as ready within this is terminated and counted. */
    CONTROL_BOOT_TIMEOUT_MS: int(10_000).default(600_000),
    /** A draining host is terminated when idle or after this, whichever comes first. */
    CONTROL_DRAIN_TIMEOUT_MS: int(0).default(300_000),
    /**
     * Most of the fleet one provider may hold after a launch: a provider over it is tried last, so losing any
     * one provider costs at most this share of capacity. 0.4 is what the simulator's outage trace ran with;
     * 1 launches in plain CONTROL_PROVIDERS order.
     */
    CONTROL_MAX_PROVIDER_SHARE: z.coerce.number().gt(0).max(1).default(0.4),
    /**
     * Expected boot time per provider (`runpod=90000,vast-ai=180000`, milliseconds): what scale to zero checks
     * against the cold-start budget. A provider without an entry never counts as fast enough, so without this
     * the fleet keeps at least one replica even when AUTOSCALER_SCALE_TO_ZERO is on.
     */
    CONTROL_PROVIDER_BOOT_MS: numbersBy('boot time').default({}),
    CONTROL_PROVIDER_TIMEOUT_MS: int(100, 300_000).default(30_000),
    CONTROL_RETRY_ATTEMPTS: int(1, 10).default(3),
    CONTROL_RETRY_BASE_MS: int(1, 60_000).default(500),
    CONTROL_BREAKER_THRESHOLD: int(1, 100).default(5),
    CONTROL_BREAKER_COOLDOWN_MS: int(1_000).default(60_000),
    /** The edge's Upstash (the fleet registry lives there). */
    UPSTASH_REDIS_REST_URL: z.string().url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    /** What launched hosts get: signing keys (`keyId:secret[,…]`, the edge's pair), registry address/token. */
    HOST_ORIGIN_SIGNING_KEYS: z.string().optional(),
    HOST_REGISTRY_REST_URL: z.string().url().optional(),
    HOST_REGISTRY_REST_TOKEN: z.string().optional(),
    HOST_MODEL_REPOSITORY: z.string().default('/models'),
    HOST_EXECUTION_PROVIDER: z.enum(['cuda', 'cpu']).default('cuda'),
  })
  .and(autoscalerEnvSchema)
  .superRefine((env, ctx) => {
    const keys: Record<ProviderName, string | undefined> = {
      'vast-ai': env.VAST_API_KEY,
      runpod: env.RUNPOD_API_KEY,
      lambda: env.LAMBDA_API_KEY,
    };
    const envName: Record<ProviderName, string> = {
      'vast-ai': 'VAST_API_KEY',
      runpod: 'RUNPOD_API_KEY',
      lambda: 'LAMBDA_API_KEY',
    };
    for (const name of env.CONTROL_PROVIDERS ?? []) {
      if (!keys[name]) {
        ctx.addIssue({
          code: 'custom',
          path: [envName[name]],
          message: `required: ${name} is in CONTROL_PROVIDERS`,
        });
      }
    }
    const order = env.CONTROL_PROVIDERS ?? PROVIDER_NAMES.filter((n) => keys[n]);
    if (order.includes('lambda') && !env.LAMBDA_SSH_KEY_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['LAMBDA_SSH_KEY_NAME'],
        message: 'required when Lambda is a provider',
      });
    }
    if (Boolean(env.UPSTASH_REDIS_REST_URL) !== Boolean(env.UPSTASH_REDIS_REST_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPSTASH_REDIS_REST_TOKEN'],
        message: 'UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN go together',
      });
    }
  });

export type ControlConfig = z.infer<typeof controlConfigSchema>;

/** The failover order the config asks for. */
export function providerOrder(config: ControlConfig): ProviderName[] {
  if (config.CONTROL_PROVIDERS) return config.CONTROL_PROVIDERS;
  const keys: Record<ProviderName, string | undefined> = {
    'vast-ai': config.VAST_API_KEY,
    runpod: config.RUNPOD_API_KEY,
    lambda: config.LAMBDA_API_KEY,
  };
  return PROVIDER_NAMES.filter((n) => keys[n]);
}
