import { cloudInitScript } from './host-bootstrap.ts';
import { createProviderHttp, excerpt, type FetchLike, field, kindFromStatus, stringField } from './http.ts';
import {
  clientTokenFromLabel,
  type InstanceStatus,
  type LaunchRequest,
  labelFor,
  type Offer,
  type ProviderAdapter,
  ProviderError,
  type ProviderErrorKind,
  type ProviderInstance,
} from './types.ts';

/**
 * Lambda Cloud (`https://cloud.lambdalabs.com/api/v1`): `GET /instance-types`, `POST
 * /instance-operations/launch`, `GET /instances[/{id}]`, `POST /instance-operations/terminate`. Lambda boots a
 * VM, not a container, so the origin image is started by a cloud-init `user_data` script. Lambda has no
 * idempotency key: the client token rides in the instance `name` and `launch` looks for it first.
 */
export interface LambdaAdapterOptions {
  apiKey: string;
  baseUrl?: string;
  /** Our GPU type → Lambda instance type name, e.g. `{ 'A100-80GB': 'gpu_1x_a100_sxm4' }`. */
  gpuTypes: Record<string, string>;
  /** Lambda requires exactly one SSH key name on launch (an operator's break-glass key). */
  sshKeyName: string;
  fetch?: FetchLike;
  timeoutMs?: number;
  now?: () => number;
}

const LAMBDA_PROVIDER = 'lambda';
const LAMBDA_BASE_URL = 'https://cloud.lambdalabs.com/api/v1';

const STATES: Record<string, InstanceStatus> = {
  booting: 'booting',
  active: 'running',
  // Lambda's own health check failed: the host does not answer; the reconciler replaces failed hosts.
  unhealthy: 'failed',
  terminating: 'stopping',
  terminated: 'terminated',
  preempted: 'terminated',
};

/** Lambda error bodies are `{"error":{"code":"…","message":"…","suggestion":"…"}}`. */
function classify(status: number, body: unknown, text: string): { kind: ProviderErrorKind; message: string } {
  const error = field(body, 'error');
  const code = stringField(error, 'code') ?? '';
  const message = `${code ? `${code}: ` : ''}${stringField(error, 'message') ?? excerpt(text)}`;
  if (code === 'instance-operations/launch/insufficient-capacity') return { kind: 'no_capacity', message };
  if (code === 'global/quota-exceeded' || code === 'instance-operations/launch/quota-exceeded') {
    return { kind: 'quota', message };
  }
  if (code === 'global/invalid-api-key' || code === 'global/account-inactive')
    return { kind: 'auth', message };
  if (code === 'global/object-does-not-exist') return { kind: 'not_found', message };
  if (code === 'global/invalid-parameters' || code === 'global/invalid-address') {
    return { kind: 'invalid', message };
  }
  return { kind: kindFromStatus(status), message };
}

interface LambdaInstance {
  id: string;
  name?: string | null;
  ip?: string | null;
  status: string;
  region?: { name: string };
  instance_type?: { name: string; price_cents_per_hour?: number };
}

export function createLambdaAdapter(options: LambdaAdapterOptions): ProviderAdapter {
  const http = createProviderHttp({
    provider: LAMBDA_PROVIDER,
    baseUrl: options.baseUrl ?? LAMBDA_BASE_URL,
    headers: { authorization: `Bearer ${options.apiKey}` },
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    classify,
  });
  const now = options.now ?? Date.now;
  const ourType = new Map(Object.entries(options.gpuTypes).map(([ours, theirs]) => [theirs, ours]));
  // Lambda's instance object has no creation time; remember when we first saw each id.
  const firstSeen = new Map<string, number>();

  function toInstance(raw: LambdaInstance): ProviderInstance {
    if (!firstSeen.has(raw.id)) firstSeen.set(raw.id, now());
    const typeName = raw.instance_type?.name ?? '';
    return {
      provider: LAMBDA_PROVIDER,
      providerInstanceId: raw.id,
      clientToken: clientTokenFromLabel(raw.name),
      status: STATES[raw.status] ?? 'booting',
      gpuType: ourType.get(typeName) ?? typeName,
      region: raw.region?.name ?? 'unknown',
      hourlyCostUsd: (raw.instance_type?.price_cents_per_hour ?? 0) / 100,
      publicUrl: raw.ip ? `http://${raw.ip}:8000` : null,
      createdAt: firstSeen.get(raw.id)!,
    };
  }

  async function listAll(): Promise<ProviderInstance[]> {
    const res = await http.request<{ data: LambdaInstance[] }>('GET', '/instances');
    return (res.body.data ?? []).map(toInstance);
  }

  async function get(id: string): Promise<ProviderInstance | null> {
    try {
      const res = await http.request<{ data: LambdaInstance }>('GET', `/instances/${encodeURIComponent(id)}`);
      return toInstance(res.body.data);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  return {
    name: LAMBDA_PROVIDER,

    async listOffers(gpuType, region) {
      const typeName = options.gpuTypes[gpuType];
      if (!typeName) return [];
      type Types = Record<
        string,
        {
          instance_type: { name: string; price_cents_per_hour: number; specs?: { gpus?: number } };
          regions_with_capacity_available: { name: string }[];
        }
      >;
      const res = await http.request<{ data: Types }>('GET', '/instance-types');
      const entry = res.body.data?.[typeName];
      if (!entry) return [];
      return entry.regions_with_capacity_available
        .filter((r) => region === undefined || r.name === region)
        .map(
          (r): Offer => ({
            provider: LAMBDA_PROVIDER,
            offerId: `${typeName}@${r.name}`,
            gpuType,
            providerGpuType: typeName,
            region: r.name,
            gpuCount: entry.instance_type.specs?.gpus ?? 1,
            hourlyCostUsd: entry.instance_type.price_cents_per_hour / 100,
          }),
        );
    },

    async launch(req: LaunchRequest) {
      const existing = (await listAll()).find(
        (i) => i.clientToken === req.clientToken && i.status !== 'terminated' && i.status !== 'failed',
      );
      if (existing) return existing;
      const typeName = options.gpuTypes[req.gpuType];
      if (!typeName) {
        throw new ProviderError(
          LAMBDA_PROVIDER,
          'invalid',
          `no Lambda instance type mapped for ${req.gpuType}`,
        );
      }
      const offers = await this.listOffers(req.gpuType, req.region);
      const offer = offers[0];
      if (!offer) {
        throw new ProviderError(
          LAMBDA_PROVIDER,
          'no_capacity',
          `no region has ${typeName} capacity${req.region ? ` in ${req.region}` : ''}`,
        );
      }
      const res = await http.request<{ data: { instance_ids: string[] } }>(
        'POST',
        '/instance-operations/launch',
        {
          region_name: offer.region,
          instance_type_name: typeName,
          ssh_key_names: [options.sshKeyName],
          quantity: 1,
          name: labelFor(req.clientToken),
          user_data: cloudInitScript(req.image, req.env),
        },
      );
      const id = res.body.data?.instance_ids?.[0];
      if (!id)
        throw new ProviderError(LAMBDA_PROVIDER, 'transient', 'launch answered without an instance id');
      const launched = await get(id);
      return (
        launched ?? {
          provider: LAMBDA_PROVIDER,
          providerInstanceId: id,
          clientToken: req.clientToken,
          status: 'booting',
          gpuType: req.gpuType,
          region: offer.region,
          hourlyCostUsd: offer.hourlyCostUsd,
          publicUrl: null,
          createdAt: now(),
        }
      );
    },

    get,

    async list() {
      return (await listAll()).filter((i) => i.clientToken !== null);
    },

    async terminate(id) {
      try {
        await http.request('POST', '/instance-operations/terminate', { instance_ids: [id] });
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'not_found') return;
        throw err;
      }
    },
  };
}
