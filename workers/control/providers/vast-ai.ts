import { createProviderHttp, excerpt, type FetchLike, kindFromStatus, stringField } from './http.ts';
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
 * Vast.ai (`https://console.vast.ai/api/v0`, `Authorization: Bearer`): search offers with `GET /bundles/?q=`,
 * rent one with `PUT /asks/{offer_id}/` (image, env, label, disk, runtype `args` so the image's entrypoint
 * runs), `GET /instances/`, `GET /instances/{id}/`, `DELETE /instances/{id}/`. The client token rides in
 * `label`; `launch` looks for it first, so a retried launch never rents a second machine.
 */
export interface VastAiAdapterOptions {
  apiKey: string;
  baseUrl?: string;
  /** Our GPU type → Vast `gpu_name`, e.g. `{ 'A100-80GB': 'A100 SXM4' }`. */
  gpuTypes: Record<string, string>;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** How many of the cheapest offers a launch tries when offers are taken under it (default 3). */
  offersPerLaunch?: number;
}

const VAST_PROVIDER = 'vast-ai';
const VAST_BASE_URL = 'https://console.vast.ai/api/v0';

/** Vast's `actual_status` (container state) onto ours; `null` means still provisioning. */
function mapStatus(actual: string | null | undefined, intended: string | null | undefined): InstanceStatus {
  if (intended === 'stopped' && actual === 'running') return 'stopping';
  switch (actual) {
    case null:
    case undefined:
    case 'created':
    case 'loading':
    case 'rebooting':
    case 'unknown':
      return 'booting';
    case 'running':
      return 'running';
    case 'stopped':
    case 'frozen':
      return 'stopping';
    case 'exited':
    case 'offline':
      return 'failed';
    default:
      return 'booting';
  }
}

/**
 * Vast error bodies are `{"success":false,"error":"invalid_args","msg":"…"}` (some endpoints only `msg` or
 * `message`); rate limits are 429 with plain text "API requests too frequent" and no Retry-After.
 */
function classify(status: number, body: unknown, text: string): { kind: ProviderErrorKind; message: string } {
  const error = stringField(body, 'error') ?? '';
  const msg = stringField(body, 'msg') ?? stringField(body, 'message') ?? excerpt(text);
  const message = `${error ? `${error}: ` : ''}${msg}`;
  const haystack = `${error} ${msg}`.toLowerCase();
  if (status === 429 || haystack.includes('too frequent')) return { kind: 'rate_limited', message };
  if (haystack.includes('no_such_ask') || haystack.includes('not available')) {
    return { kind: 'no_capacity', message };
  }
  if (haystack.includes('insufficient_credit') || haystack.includes('credit'))
    return { kind: 'quota', message };
  if (haystack.includes('invalid_api_key') || haystack.includes('unauthorized'))
    return { kind: 'auth', message };
  return { kind: kindFromStatus(status), message };
}

interface VastInstance {
  id: number;
  label?: string | null;
  actual_status?: string | null;
  intended_status?: string | null;
  gpu_name?: string;
  geolocation?: string | null;
  dph_total?: number;
  public_ipaddr?: string | null;
  ports?: Record<string, { HostIp?: string; HostPort: string }[]> | null;
  start_date?: number | null;
}

interface VastOffer {
  id: number;
  gpu_name: string;
  num_gpus: number;
  dph_total: number;
  geolocation?: string | null;
}

export function createVastAiAdapter(options: VastAiAdapterOptions): ProviderAdapter {
  const http = createProviderHttp({
    provider: VAST_PROVIDER,
    baseUrl: options.baseUrl ?? VAST_BASE_URL,
    headers: { authorization: `Bearer ${options.apiKey}` },
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    classify,
  });
  const ourType = new Map(Object.entries(options.gpuTypes).map(([ours, theirs]) => [theirs, ours]));

  function toInstance(raw: VastInstance): ProviderInstance {
    const port = raw.ports?.['8000/tcp']?.[0]?.HostPort;
    const gpuName = raw.gpu_name ?? '';
    return {
      provider: VAST_PROVIDER,
      providerInstanceId: String(raw.id),
      clientToken: clientTokenFromLabel(raw.label),
      status: mapStatus(raw.actual_status, raw.intended_status),
      gpuType: ourType.get(gpuName) ?? gpuName,
      region: raw.geolocation ?? 'unknown',
      hourlyCostUsd: raw.dph_total ?? 0,
      publicUrl: raw.public_ipaddr && port ? `http://${raw.public_ipaddr}:${port}` : null,
      createdAt: Math.round((raw.start_date ?? 0) * 1000),
    };
  }

  async function listAll(): Promise<ProviderInstance[]> {
    const res = await http.request<{ instances?: VastInstance[] }>('GET', '/instances/');
    return (res.body.instances ?? []).map(toInstance);
  }

  async function get(id: string): Promise<ProviderInstance | null> {
    try {
      const res = await http.request<{ instances?: VastInstance | null }>(
        'GET',
        `/instances/${encodeURIComponent(id)}/`,
      );
      const raw = res.body.instances;
      return raw && typeof raw === 'object' && 'id' in raw ? toInstance(raw) : null;
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  async function searchOffers(gpuType: string, region?: string): Promise<Offer[]> {
    const gpuName = options.gpuTypes[gpuType];
    if (!gpuName) return [];
    const query: Record<string, unknown> = {
      gpu_name: { eq: gpuName },
      num_gpus: { eq: 1 },
      rentable: { eq: true },
      rented: { eq: false },
      type: 'on-demand',
      order: [['dph_total', 'asc']],
      limit: 20,
    };
    if (region) query['geolocation'] = { eq: region };
    const res = await http.request<{ offers?: VastOffer[] }>(
      'GET',
      `/bundles/?q=${encodeURIComponent(JSON.stringify(query))}`,
    );
    return (res.body.offers ?? [])
      .map(
        (o): Offer => ({
          provider: VAST_PROVIDER,
          offerId: String(o.id),
          gpuType,
          providerGpuType: o.gpu_name,
          region: o.geolocation ?? 'unknown',
          gpuCount: o.num_gpus,
          hourlyCostUsd: o.dph_total,
        }),
      )
      .sort((a, b) => a.hourlyCostUsd - b.hourlyCostUsd);
  }

  return {
    name: VAST_PROVIDER,
    listOffers: searchOffers,

    async launch(req: LaunchRequest) {
      const existing = (await listAll()).find(
        (i) => i.clientToken === req.clientToken && i.status !== 'terminated' && i.status !== 'failed',
      );
      if (existing) return existing;
      if (!options.gpuTypes[req.gpuType]) {
        throw new ProviderError(VAST_PROVIDER, 'invalid', `no Vast.ai gpu_name mapped for ${req.gpuType}`);
      }
      const offers = (await searchOffers(req.gpuType, req.region)).slice(0, options.offersPerLaunch ?? 3);
      let lastTaken: ProviderError | undefined;
      for (const offer of offers) {
        try {
          const res = await http.request<{ success?: boolean; new_contract?: number }>(
            'PUT',
            `/asks/${encodeURIComponent(offer.offerId)}/`,
            {
              image: req.image,
              label: labelFor(req.clientToken),
              disk: req.diskGb ?? 32,
              runtype: 'args',
              // Vast reads `-p host:container` keys in env as port mappings.
              env: { ...req.env, '-p 8000:8000': '1' },
            },
          );
          const id = res.body.new_contract;
          if (id === undefined || res.body.success === false) {
            throw new ProviderError(VAST_PROVIDER, 'transient', 'create answered without new_contract');
          }
          return (
            (await get(String(id))) ?? {
              provider: VAST_PROVIDER,
              providerInstanceId: String(id),
              clientToken: req.clientToken,
              status: 'booting',
              gpuType: req.gpuType,
              region: offer.region,
              hourlyCostUsd: offer.hourlyCostUsd,
              publicUrl: null,
              createdAt: Date.now(),
            }
          );
        } catch (err) {
          // The marketplace moves: an offer rented by someone else between search and accept is normal.
          if (err instanceof ProviderError && err.kind === 'no_capacity') {
            lastTaken = err;
            continue;
          }
          throw err;
        }
      }
      throw (
        lastTaken ??
        new ProviderError(VAST_PROVIDER, 'no_capacity', `no rentable ${options.gpuTypes[req.gpuType]} offers`)
      );
    },

    get,

    async list() {
      return (await listAll()).filter((i) => i.clientToken !== null);
    },

    async terminate(id) {
      try {
        await http.request('DELETE', `/instances/${encodeURIComponent(id)}/`);
      } catch (err) {
        if (err instanceof ProviderError && err.kind === 'not_found') return;
        throw err;
      }
    },
  };
}
