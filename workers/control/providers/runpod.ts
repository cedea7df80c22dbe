import { createProviderHttp, excerpt, type FetchLike, kindFromStatus, stringField } from './http.ts';
import {
  clientTokenFromLabel,
  type InstanceStatus,
  type LaunchRequest,
  labelFor,
  type ProviderAdapter,
  ProviderError,
  type ProviderErrorKind,
  type ProviderInstance,
} from './types.ts';

/**
 * RunPod REST API v1 (`https://rest.runpod.io/v1`, `Authorization: Bearer`): `POST /pods` (imageName,
 * gpuTypeIds, env, ports, dataCenterIds), `GET /pods?name=`, `GET /pods/{podId}`, `DELETE /pods/{podId}`. The
 * client token rides in the pod `name`; `launch` looks it up first. The origin is reached through RunPod's
 * HTTP proxy, `https://{podId}-8000.proxy.runpod.net`.
 */
export interface RunPodAdapterOptions {
  apiKey: string;
  baseUrl?: string;
  /** Our GPU type → RunPod GPU type id, e.g. `{ 'A100-80GB': 'NVIDIA A100 80GB PCIe' }`. */
  gpuTypes: Record<string, string>;
  /**
   * On-demand $/h per our GPU type, for offers: REST v1 has no price catalogue (the pod's `costPerHr` is
   * authoritative once it exists).
   */
  prices?: Record<string, number>;
  cloudType?: 'SECURE' | 'COMMUNITY';
  fetch?: FetchLike;
  timeoutMs?: number;
  now?: () => number;
}

const RUNPOD_PROVIDER = 'runpod';
const RUNPOD_BASE_URL = 'https://rest.runpod.io/v1';

interface RunPodPod {
  id: string;
  name?: string | null;
  desiredStatus?: string;
  costPerHr?: number | string;
  gpu?: { id?: string; displayName?: string } | null;
  machine?: { dataCenterId?: string; gpuTypeId?: string } | null;
  publicIp?: string | null;
  portMappings?: Record<string, number> | null;
  lastStartedAt?: string | null;
}

/**
 * REST v1 reports only the desired state; a RUNNING pod whose container has not started yet has no
 * `lastStartedAt` and no port mappings, which is our "booting".
 */
function mapStatus(pod: RunPodPod): InstanceStatus {
  switch (pod.desiredStatus) {
    case 'TERMINATED':
      return 'terminated';
    case 'EXITED':
      // Our origin does not exit on its own: an exited container is a crashed host.
      return 'failed';
    case 'RUNNING': {
      const started = Boolean(pod.lastStartedAt) || Object.keys(pod.portMappings ?? {}).length > 0;
      return started ? 'running' : 'booting';
    }
    default:
      return 'booting';
  }
}

/** RunPod errors are `{"error":"…","status":N}`; capacity exhaustion is a message, not a code. */
function classify(status: number, body: unknown, text: string): { kind: ProviderErrorKind; message: string } {
  const message = stringField(body, 'error') ?? stringField(body, 'message') ?? excerpt(text);
  const lower = message.toLowerCase();
  if (status === 429) return { kind: 'rate_limited', message };
  if (
    lower.includes('no longer any instances available') ||
    lower.includes('no instances available') ||
    lower.includes('not enough free gpus')
  ) {
    return { kind: 'no_capacity', message };
  }
  if (lower.includes('balance') || lower.includes('quota') || lower.includes('spend limit')) {
    return { kind: 'quota', message };
  }
  return { kind: kindFromStatus(status), message };
}

export function createRunPodAdapter(options: RunPodAdapterOptions): ProviderAdapter {
  const http = createProviderHttp({
    provider: RUNPOD_PROVIDER,
    baseUrl: options.baseUrl ?? RUNPOD_BASE_URL,
    headers: { authorization: `Bearer ${options.apiKey}` },
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    classify,
  });
  const now = options.now ?? Date.now;
  const ourType = new Map(Object.entries(options.gpuTypes).map(([ours, theirs]) => [theirs, ours]));

  function toInstance(pod: RunPodPod): ProviderInstance {
    const typeId = pod.machine?.gpuTypeId ?? pod.gpu?.id ?? '';
    const started = pod.lastStartedAt ? Date.parse(pod.lastStartedAt) : Number.NaN;
    const status = mapStatus(pod);
    return {
      provider: RUNPOD_PROVIDER,
      providerInstanceId: pod.id,
      clientToken: clientTokenFromLabel(pod.name),
      status,
      gpuType: ourType.get(typeId) ?? typeId,
      region: pod.machine?.dataCenterId ?? 'unknown',
      hourlyCostUsd: Number(pod.costPerHr ?? 0),
      publicUrl: status === 'terminated' ? null : `https://${pod.id}-8000.proxy.runpod.net`,
      createdAt: Number.isNaN(started) ? now() : started,
    };
  }

  async function listAll(name?: string): Promise<ProviderInstance[]> {
    const query = new URLSearchParams({ includeMachine: 'true' });
    if (name) query.set('name', name);
    const res = await http.request<RunPodPod[]>('GET', `/pods?${query}`);
    return (Array.isArray(res.body) ? res.body : []).map(toInstance);
  }

  async function get(id: string): Promise<ProviderInstance | null> {
    try {
      const res = await http.request<RunPodPod>('GET', `/pods/${encodeURIComponent(id)}?includeMachine=true`);
      return toInstance(res.body);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  return {
    name: RUNPOD_PROVIDER,

    async listOffers(gpuType, region) {
      const typeId = options.gpuTypes[gpuType];
      const price = options.prices?.[gpuType];
      if (!typeId || price === undefined) return [];
      return [
        {
          provider: RUNPOD_PROVIDER,
          offerId: typeId,
          gpuType,
          providerGpuType: typeId,
          region: region ?? 'any',
          gpuCount: 1,
          hourlyCostUsd: price,
        },
      ];
    },

    async launch(req: LaunchRequest) {
      const label = labelFor(req.clientToken);
      const existing = (await listAll(label)).find(
        (i) => i.clientToken === req.clientToken && i.status !== 'terminated' && i.status !== 'failed',
      );
      if (existing) return existing;
      const typeId = options.gpuTypes[req.gpuType];
      if (!typeId) {
        throw new ProviderError(RUNPOD_PROVIDER, 'invalid', `no RunPod GPU type mapped for ${req.gpuType}`);
      }
      const body: Record<string, unknown> = {
        name: label,
        imageName: req.image,
        computeType: 'GPU',
        gpuTypeIds: [typeId],
        gpuCount: 1,
        cloudType: options.cloudType ?? 'SECURE',
        containerDiskInGb: req.diskGb ?? 32,
        ports: ['8000/http'],
        env: req.env,
      };
      if (req.region) body['dataCenterIds'] = [req.region];
      const res = await http.request<RunPodPod>('POST', '/pods', body);
      return toInstance(res.body);
    },

    get,

    async list() {
      return (await listAll()).filter((i) => i.clientToken !== null);
    },

    async terminate(id) {
      try {
        await http.request('DELETE', `/pods/${encodeURIComponent(id)}`);
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'not_found') return;
        throw err;
      }
    },
  };
}
