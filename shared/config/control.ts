import { z } from 'zod';
import { autoscalerEnvSchema } from '../fleet/autoscaler-config.ts';
import { int } from './fields.ts';

/**
 * The control plane's reconcile runner (Cron Trigger in the edge worker, or `npm run cli -- fleet …`):
 * providers in failover order, their credentials and base URLs (point them at the local fakes in tests),
 * GPU-type mappings, what launched hosts run, and the lifecycle bounds. Autoscaler knobs come from
 * `shared/fleet/autoscaler-config.ts` and are merged in. Each field's `.describe()` is its documentation
 * (`npm run docs:config`).
 */

const PROVIDER_NAMES = ['vast-ai', 'runpod', 'lambda'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** `ours=theirs,ours=theirs` → record; `=` splits once because provider names contain spaces, never `=`. */
const mapping = z.string().transform((spec, ctx) => {
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
    CONTROL_PROVIDERS: providerOrderSchema
      .optional()
      .describe(
        'Failover order, comma-separated from `vast-ai`, `runpod`, `lambda`; each provider named needs its API key. Unset: every provider with an API key, in the order `vast-ai,runpod,lambda`.',
      ),
    VAST_API_KEY: z.string().optional().describe('Vast.ai API key (a secret).'),
    RUNPOD_API_KEY: z.string().optional().describe('RunPod API key (a secret).'),
    LAMBDA_API_KEY: z.string().optional().describe('Lambda API key (a secret).'),
    VAST_BASE_URL: z
      .string()
      .url()
      .default('https://console.vast.ai/api/v0')
      .describe('Vast.ai API base (point it at a fake in tests).'),
    RUNPOD_BASE_URL: z.string().url().default('https://rest.runpod.io/v1').describe('RunPod REST API base.'),
    LAMBDA_BASE_URL: z
      .string()
      .url()
      .default('https://cloud.lambdalabs.com/api/v1')
      .describe('Lambda API base.'),
    VAST_GPU_TYPES: mapping
      .default({ 'A100-80GB': 'A100 SXM4', 'H100-80GB': 'H100 SXM', 'L4-24GB': 'L4' })
      .describe('Our GPU type = Vast.ai `gpu_name`, comma-separated.'),
    RUNPOD_GPU_TYPES: mapping
      .default({
        'A100-80GB': 'NVIDIA A100 80GB PCIe',
        'H100-80GB': 'NVIDIA H100 80GB HBM3',
        'L4-24GB': 'NVIDIA L4',
      })
      .describe('Our GPU type = RunPod GPU type id, comma-separated.'),
    LAMBDA_GPU_TYPES: mapping
      .default({ 'A100-80GB': 'gpu_1x_a100_sxm4', 'H100-80GB': 'gpu_1x_h100_pcie' })
      .describe('Our GPU type = Lambda instance type, comma-separated.'),
    RUNPOD_PRICES: prices
      .default({ 'A100-80GB': 1.64, 'H100-80GB': 2.39, 'L4-24GB': 0.43 })
      .describe('On-demand $/h per GPU type for RunPod offers (its REST v1 API has no price list).'),
    LAMBDA_SSH_KEY_NAME: z
      .string()
      .optional()
      .describe('Required when Lambda is a provider: Lambda needs exactly one SSH key name per launch.'),
    CONTROL_GPU_TYPE: z
      .string()
      .min(1)
      .default('A100-80GB')
      .describe('Our GPU type new hosts are launched with.'),
    CONTROL_REGION: z.string().optional().describe('Region asked of the providers. Unset: any.'),
    CONTROL_ORIGIN_IMAGE: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The origin container image the hosts run (built from `deploy/origin.Dockerfile`); required for a real pass.',
      ),
    CONTROL_DISK_GB: int(8, 4096).default(32).describe('Disk per host, in GB.'),
    CONTROL_BOOT_TIMEOUT_MS: int(10_000)
      .default(600_000)
      .describe(
        'A host not registered as ready within this (milliseconds from the launch, 10 min) is terminated, marked failed and counted in `bootTimeouts`. It must cover provisioning, pulling a multi-GB CUDA image and loading the models.',
      ),
    CONTROL_DRAIN_TIMEOUT_MS: int(0)
      .default(300_000)
      .describe(
        'A draining host is terminated when idle or after this (milliseconds), whichever comes first.',
      ),
    CONTROL_MAX_PROVIDER_SHARE: z.coerce
      .number()
      .gt(0)
      .max(1)
      .default(0.4)
      .describe(
        "Most of the fleet one provider may hold after a launch: a provider over it is tried last, so losing any one provider costs at most this share of capacity. 0.4 is what the simulator's outage trace ran with; `1` launches in plain `CONTROL_PROVIDERS` order.",
      ),
    CONTROL_PROVIDER_BOOT_MS: numbersBy('boot time')
      .default({})
      .describe(
        'Expected boot time per provider in milliseconds (`runpod=90000,vast-ai=180000`), checked against `AUTOSCALER_COLD_START_BUDGET_MS` before scaling to zero. A provider without an entry never counts as fast enough, so without this the fleet keeps at least one replica even with `AUTOSCALER_SCALE_TO_ZERO=true`.',
      ),
    CONTROL_PROVIDER_TIMEOUT_MS: int(100, 300_000)
      .default(30_000)
      .describe('Bound on one provider API call, in milliseconds; past it the call is `transient`.'),
    CONTROL_RETRY_ATTEMPTS: int(1, 10)
      .default(3)
      .describe('Tries per provider for transient and rate-limited errors, the first included.'),
    CONTROL_RETRY_BASE_MS: int(1, 60_000)
      .default(500)
      .describe(
        'First backoff step in milliseconds (doubles, "equal jitter", capped at 10 s; a provider\'s `Retry-After` is a floor).',
      ),
    CONTROL_BREAKER_THRESHOLD: int(1, 100)
      .default(5)
      .describe("Consecutive transient failures that open a provider's breaker."),
    CONTROL_BREAKER_COOLDOWN_MS: int(1_000)
      .default(60_000)
      .describe(
        'How long an open provider breaker skips the provider before one trial call, in milliseconds.',
      ),
    UPSTASH_REDIS_REST_URL: z
      .string()
      .url()
      .optional()
      .describe(
        "The edge's Upstash REST URL: the fleet registry, the reconcile lock and the control state live there. Both or neither with the token.",
      ),
    UPSTASH_REDIS_REST_TOKEN: z
      .string()
      .optional()
      .describe('Token for `UPSTASH_REDIS_REST_URL` (a secret).'),
    HOST_ORIGIN_SIGNING_KEYS: z
      .string()
      .optional()
      .describe(
        "`keyId:secret[,…]` given to launched hosts as `ORIGIN_SIGNING_KEYS`: must hold the edge's `ORIGIN_SIGNING_KEY`. Required for a real pass.",
      ),
    HOST_REGISTRY_REST_URL: z
      .string()
      .url()
      .optional()
      .describe(
        'Registry address given to hosts as `REGISTRY_REDIS_REST_URL`. Unset: `UPSTASH_REDIS_REST_URL`.',
      ),
    HOST_REGISTRY_REST_TOKEN: z
      .string()
      .optional()
      .describe(
        "Registry token given to hosts as `REGISTRY_REDIS_REST_TOKEN`. Unset: `UPSTASH_REDIS_REST_TOKEN` (a real pass then warns). In production use a restricted ACL user's token (`npm run cli -- fleet host-acl`), not the edge's own.",
      ),
    HOST_MODEL_REPOSITORY: z
      .string()
      .default('/models')
      .describe('`MODEL_REPOSITORY` on the hosts (where the image keeps its models).'),
    HOST_EXECUTION_PROVIDER: z
      .enum(['cuda', 'cpu'])
      .default('cuda')
      .describe('`EXECUTION_PROVIDER` on the hosts.'),
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
