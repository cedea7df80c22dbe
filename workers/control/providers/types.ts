/**
 * The one interface every GPU provider adapter implements (Vast.ai, RunPod, Lambda, and the simulator's
 * simulated providers). Runtime-neutral: adapters use `fetch` only, so they run in a Worker's Cron Trigger and
 * in Node alike.
 */

/** Our instance lifecycle; each adapter maps its provider's states onto these. */
export type InstanceStatus = 'booting' | 'running' | 'stopping' | 'terminated' | 'failed';

/** One thing a provider could rent us now, priced per hour. */
export interface Offer {
  provider: string;
  /** The provider's own id for the offer (Vast.ai ask id, RunPod GPU type id, Lambda instance type name). */
  offerId: string;
  /** Our GPU type, e.g. `A100-80GB`. */
  gpuType: string;
  /** The provider's name for it, e.g. `NVIDIA A100 80GB PCIe`, `gpu_1x_a100_sxm4`. */
  providerGpuType: string;
  region: string;
  gpuCount: number;
  hourlyCostUsd: number;
}

export interface LaunchRequest {
  /**
   * Idempotency key chosen by the caller; carried in the provider's label/name so a retried launch finds the
   * first one instead of starting a second host.
   */
  clientToken: string;
  /** Our GPU type, e.g. `A100-80GB`; the adapter maps it to the provider's type. */
  gpuType: string;
  region?: string;
  /** Container image the host runs (the origin image from `deploy/origin.Dockerfile`). */
  image: string;
  /** Environment of the origin container: signing keys, registry address and token, ORIGIN_ID, … */
  env: Record<string, string>;
  diskGb?: number;
}

export interface ProviderInstance {
  provider: string;
  providerInstanceId: string;
  /** The client token recovered from the provider's label/name; null for instances we did not launch. */
  clientToken: string | null;
  status: InstanceStatus;
  gpuType: string;
  region: string;
  hourlyCostUsd: number;
  /** Where the origin on this host can be reached, once the provider knows (IP/port or proxy URL). */
  publicUrl: string | null;
  /** Epoch ms. */
  createdAt: number;
}

export interface ProviderAdapter {
  readonly name: string;
  listOffers(gpuType: string, region?: string): Promise<Offer[]>;
  launch(req: LaunchRequest): Promise<ProviderInstance>;
  get(providerInstanceId: string): Promise<ProviderInstance | null>;
  /** Instances this adapter's account owns that carry our label prefix (foreign instances are left out). */
  list(): Promise<ProviderInstance[]>;
  /** Idempotent: terminating an instance that is already gone resolves. */
  terminate(providerInstanceId: string): Promise<void>;
}

export type ProviderErrorKind =
  | 'no_capacity'
  | 'quota'
  | 'auth'
  | 'rate_limited'
  | 'transient'
  | 'not_found'
  | 'invalid';

export interface ProviderErrorOptions {
  retryAfterMs?: number;
  status?: number;
  cause?: unknown;
}

/** A provider call failed; `kind` decides whether failover retries (transient, rate_limited) or moves on. */
export class ProviderError extends Error {
  readonly provider: string;
  readonly kind: ProviderErrorKind;
  readonly retryAfterMs: number | undefined;
  /** HTTP status of the provider's answer, when there was one. */
  readonly status: number | undefined;

  constructor(
    provider: string,
    kind: ProviderErrorKind,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(`${provider}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

/** Kinds worth retrying against the same provider; everything else moves on to the next provider. */
export function isRetryableKind(kind: ProviderErrorKind): boolean {
  return kind === 'transient' || kind === 'rate_limited';
}

/** Prefix of the label/name every adapter gives the instances it launches, followed by the client token. */
const INSTANCE_LABEL_PREFIX = 'aiserve-';

export function labelFor(clientToken: string): string {
  return `${INSTANCE_LABEL_PREFIX}${clientToken}`;
}

/** The client token in a label we wrote, or null for anything else. */
export function clientTokenFromLabel(label: string | null | undefined): string | null {
  if (!label?.startsWith(INSTANCE_LABEL_PREFIX)) return null;
  const token = label.slice(INSTANCE_LABEL_PREFIX.length);
  return token.length > 0 ? token : null;
}
