import type { Database } from '../../drizzle/client/types.ts';
import { type ControlConfig, type ProviderName, providerOrder } from '../../shared/config/control.ts';
import { AppError } from '../../shared/errors/app-error.ts';
import { autoscalerConfigFromEnv } from '../../shared/fleet/autoscaler-config.ts';
import { BREAKERS_KEY } from '../../shared/redis-keys.ts';
import { createAutoscalerPolicy } from './autoscaler/state.ts';
import type { ControlRedis } from './fleet-state.ts';
import { createFailover, type Failover, type FailoverProvider } from './providers/failover.ts';
import type { FetchLike } from './providers/http.ts';
import { createLambdaAdapter } from './providers/lambda.ts';
import { createRunPodAdapter } from './providers/runpod.ts';
import { createVastAiAdapter } from './providers/vast-ai.ts';
import type { ReconcileReport } from './reconcile/pass-state.ts';
import { reconcileOnce } from './reconcile/reconcile.ts';

/**
 * Wiring from configuration to a reconcile pass, shared by the Worker's `scheduled` handler and the CLI.
 * Runtime-neutral: no Node APIs, `fetch` only.
 */
export interface ControlServices {
  db: Database;
  redis: ControlRedis;
  config: ControlConfig;
  fetch?: FetchLike;
  /** Epoch ms (default Date.now). */
  now?: () => number;
  actor?: string;
}

export interface SavedBreakers {
  at: number;
  states: Record<string, string>;
  breakers: Record<string, unknown>;
}

function createProviders(config: ControlConfig, fetch?: FetchLike): FailoverProvider[] {
  const timeoutMs = config.CONTROL_PROVIDER_TIMEOUT_MS;
  const build: Record<ProviderName, () => FailoverProvider> = {
    'vast-ai': () => ({
      adapter: createVastAiAdapter({
        apiKey: config.VAST_API_KEY!,
        baseUrl: config.VAST_BASE_URL,
        gpuTypes: config.VAST_GPU_TYPES,
        fetch,
        timeoutMs,
      }),
      gpuTypes: config.VAST_GPU_TYPES,
    }),
    runpod: () => ({
      adapter: createRunPodAdapter({
        apiKey: config.RUNPOD_API_KEY!,
        baseUrl: config.RUNPOD_BASE_URL,
        gpuTypes: config.RUNPOD_GPU_TYPES,
        prices: config.RUNPOD_PRICES,
        fetch,
        timeoutMs,
      }),
      gpuTypes: config.RUNPOD_GPU_TYPES,
    }),
    lambda: () => ({
      adapter: createLambdaAdapter({
        apiKey: config.LAMBDA_API_KEY!,
        baseUrl: config.LAMBDA_BASE_URL,
        gpuTypes: config.LAMBDA_GPU_TYPES,
        sshKeyName: config.LAMBDA_SSH_KEY_NAME!,
        fetch,
        timeoutMs,
      }),
      gpuTypes: config.LAMBDA_GPU_TYPES,
    }),
  };
  return providerOrder(config).map((name) => build[name]());
}

export async function loadSavedBreakers(redis: ControlRedis): Promise<SavedBreakers | null> {
  return (await redis.get<SavedBreakers>(BREAKERS_KEY)) ?? null;
}

function createControlFailover(services: ControlServices, saved: SavedBreakers | null): Failover {
  const c = services.config;
  return createFailover({
    providers: createProviders(c, services.fetch),
    maxAttempts: c.CONTROL_RETRY_ATTEMPTS,
    baseDelayMs: c.CONTROL_RETRY_BASE_MS,
    breakerThreshold: c.CONTROL_BREAKER_THRESHOLD,
    halfOpenAfterMs: c.CONTROL_BREAKER_COOLDOWN_MS,
    initialBreakers: saved?.breakers,
  });
}

/** The environment every launched host's origin starts with (ORIGIN_ID and ORIGIN_INSTANCE_ID are added per host). */
function hostEnvironment(config: ControlConfig): Record<string, string> {
  const registryUrl = config.HOST_REGISTRY_REST_URL ?? config.UPSTASH_REDIS_REST_URL;
  const registryToken = config.HOST_REGISTRY_REST_TOKEN ?? config.UPSTASH_REDIS_REST_TOKEN;
  const env: Record<string, string> = {
    HOST: '0.0.0.0',
    PORT: '8000',
    ORIGIN_AUTH: 'hmac',
    EXECUTION_PROVIDER: config.HOST_EXECUTION_PROVIDER,
    MODEL_REPOSITORY: config.HOST_MODEL_REPOSITORY,
  };
  if (config.HOST_ORIGIN_SIGNING_KEYS) env['ORIGIN_SIGNING_KEYS'] = config.HOST_ORIGIN_SIGNING_KEYS;
  if (registryUrl && registryToken) {
    env['REGISTRY_REDIS_REST_URL'] = registryUrl;
    env['REGISTRY_REDIS_REST_TOKEN'] = registryToken;
  }
  return env;
}

/**
 * Why launched hosts' credentials are broader than they need be, or nothing: hosts given the edge's own Upstash
 * token (no HOST_REGISTRY_REST_TOKEN) could write auth records, cached answers and usage, not only the registry.
 */
export function hostCredentialWarnings(config: ControlConfig): string[] {
  if (config.HOST_REGISTRY_REST_TOKEN || !config.UPSTASH_REDIS_REST_TOKEN) return [];
  return [
    'launched hosts get the edge’s own Upstash token (HOST_REGISTRY_REST_TOKEN unset): a host could write auth ' +
      'records, cached answers and usage; set a restricted ACL user’s token (npm run cli -- fleet host-acl)',
  ];
}

/**
 * One reconcile pass from configuration: what the Worker's `scheduled` handler and `fleet reconcile` call.
 * A real (non-dry) pass needs an image, signing keys and a registry for the hosts it may launch; those are
 * checked here so a misconfigured runner fails before it rents anything.
 */
export async function runReconcile(
  services: ControlServices,
  options: { dryRun?: boolean } = {},
): Promise<ReconcileReport> {
  const c = services.config;
  const dryRun = options.dryRun ?? false;
  const hostEnv = hostEnvironment(c);
  if (!dryRun) {
    const missing = [
      c.CONTROL_ORIGIN_IMAGE ? null : 'CONTROL_ORIGIN_IMAGE',
      hostEnv['ORIGIN_SIGNING_KEYS'] ? null : 'HOST_ORIGIN_SIGNING_KEYS',
      hostEnv['REGISTRY_REDIS_REST_URL']
        ? null
        : 'HOST_REGISTRY_REST_URL/TOKEN (or UPSTASH_REDIS_REST_URL/TOKEN)',
    ].filter((m): m is string => m !== null);
    if (missing.length > 0) {
      throw new AppError('INVALID_REQUEST', `cannot launch hosts without ${missing.join(', ')}`);
    }
  }
  const now = services.now ?? Date.now;
  const saved = await loadSavedBreakers(services.redis);
  const failover = createControlFailover(services, saved);
  const report = await reconcileOnce(
    {
      db: services.db,
      redis: services.redis,
      failover,
      policy: createAutoscalerPolicy({
        config: autoscalerConfigFromEnv(c),
        redis: services.redis,
        persist: !dryRun,
        bootMs: c.CONTROL_PROVIDER_BOOT_MS,
      }),
      now,
      host: {
        image: c.CONTROL_ORIGIN_IMAGE ?? '(unset)',
        gpuType: c.CONTROL_GPU_TYPE,
        region: c.CONTROL_REGION,
        diskGb: c.CONTROL_DISK_GB,
        env: hostEnv,
      },
      bootTimeoutMs: c.CONTROL_BOOT_TIMEOUT_MS,
      drainTimeoutMs: c.CONTROL_DRAIN_TIMEOUT_MS,
      maxProviderShare: c.CONTROL_MAX_PROVIDER_SHARE,
      actor: services.actor,
    },
    { dryRun },
  );
  if (!dryRun && report.ran) {
    const next: SavedBreakers = {
      at: now(),
      states: failover.breakerStates(),
      breakers: failover.exportBreakers(),
    };
    await services.redis.set(BREAKERS_KEY, JSON.stringify(next));
  }
  return report;
}
