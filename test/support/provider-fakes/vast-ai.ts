import {
  bearer,
  FakeCloud,
  type FakeCloudOptions,
  type FakeInstance,
  type FakeReply,
  startFakeServer,
} from './fake-cloud.ts';

/**
 * Vast.ai's documented REST shapes (`/api/v0`): `GET /bundles/?q=<json>` → `{offers:[…]}`, `PUT /asks/{id}/`
 * → `{success:true,new_contract:N}`, `GET /instances/` → `{instances:[…]}`, `GET /instances/{id}/` →
 * `{instances:{…}}`, `DELETE /instances/{id}/` → `{success:true}`. Errors are `{success:false,error,msg}`;
 * rate limits are 429 with plain text and no Retry-After.
 */
export interface FakeVastAi {
  /** Base URL to give the adapter (ends in `/api/v0`). */
  baseUrl: string;
  cloud: FakeCloud;
  close(): Promise<void>;
}

function error(status: number, code: string, msg: string): FakeReply {
  return { status, body: { success: false, error: code, msg } };
}

export async function startFakeVastAi(options: FakeCloudOptions = {}): Promise<FakeVastAi> {
  const cloud = new FakeCloud(options);
  const offerIds = new Map<number, number>(); // offer id → catalogue index
  for (let i = 0; i < cloud.catalog.length; i++) offerIds.set(5000 + i, i);

  function view(i: FakeInstance) {
    const phase = cloud.phase(i);
    const actual = { booting: 'loading', running: 'running', terminated: 'exited', failed: 'exited' }[phase];
    return {
      id: Number(i.id),
      label: i.name,
      actual_status: phase === 'booting' && cloud.now() - i.createdAt < cloud.bootDelayMs / 2 ? null : actual,
      intended_status: 'running',
      cur_state: 'running',
      gpu_name: i.providerType,
      num_gpus: 1,
      geolocation: i.region,
      dph_total: i.hourlyCostUsd,
      image_uuid: i.image,
      extra_env: Object.entries(i.env),
      public_ipaddr: phase === 'running' ? '198.51.100.7' : null,
      ports:
        phase === 'running'
          ? { '8000/tcp': [{ HostIp: '0.0.0.0', HostPort: String(40000 + Number(i.id)) }] }
          : {},
      start_date: i.createdAt / 1000,
    };
  }

  const server = await startFakeServer((req) => {
    const line = `${req.method} ${req.path}${req.query.size ? `?${req.query}` : ''}`;
    cloud.requests.push(line);
    if (bearer(req.headers) !== cloud.apiKey) return error(401, 'invalid_api_key', 'Invalid user key');
    if (cloud.takeFault(cloud.rateLimits, line)) return { status: 429, body: 'API requests too frequent' };
    const fault = cloud.takeFault(cloud.faults, line);
    if (fault) return error(fault.status, 'server_error', 'internal error, try again');

    const p = req.path.replace(/^\/api\/v0/, '');
    if (req.method === 'GET' && p === '/bundles/') {
      let q: Record<string, { eq?: unknown }> = {};
      try {
        q = JSON.parse(req.query.get('q') ?? '{}');
      } catch {
        return error(400, 'invalid_args', 'q is not JSON');
      }
      const offers = [...offerIds.entries()]
        .map(([id, idx]) => ({ id, entry: cloud.catalog[idx]! }))
        .filter(({ entry }) => q.gpu_name?.eq === undefined || entry.providerType === q.gpu_name.eq)
        .filter(({ entry }) => q.geolocation?.eq === undefined || entry.region === q.geolocation.eq)
        .filter(({ entry }) => cloud.hasCapacity(entry.providerType))
        .map(({ id, entry }) => ({
          id,
          ask_contract_id: id,
          gpu_name: entry.providerType,
          num_gpus: 1,
          dph_total: entry.hourlyCostUsd,
          geolocation: entry.region,
          rentable: true,
        }));
      return { status: 200, body: { offers } };
    }
    const ask = /^\/asks\/(\d+)\/$/.exec(p);
    if (req.method === 'PUT' && ask) {
      const idx = offerIds.get(Number(ask[1]));
      const entry = idx === undefined ? undefined : cloud.catalog[idx];
      const body = (req.body ?? {}) as { image?: string; label?: string; env?: Record<string, string> };
      if (typeof body.image !== 'string') return error(400, 'invalid_args', 'image is required');
      if (!entry || !cloud.hasCapacity(entry.providerType)) {
        return error(
          400,
          'invalid_args',
          `error 404/3603: no_such_ask  Instance type by id ${ask[1]} is not available.`,
        );
      }
      if (cloud.quotaExceeded) return error(402, 'insufficient_credit', 'Your account lacks credit');
      const created = cloud.create({
        id: String(100 + cloud.nextId()),
        name: body.label ?? '',
        providerType: entry.providerType,
        region: entry.region,
        hourlyCostUsd: entry.hourlyCostUsd,
        image: body.image,
        env: body.env ?? {},
        userData: null,
      });
      if (cloud.hangLaunches > 0) {
        cloud.hangLaunches -= 1;
        return { status: 200, hang: true };
      }
      return { status: 200, body: { success: true, new_contract: Number(created.id) } };
    }
    if (req.method === 'GET' && p === '/instances/') {
      return {
        status: 200,
        body: { instances_found: cloud.live().length, instances: cloud.live().map(view) },
      };
    }
    const one = /^\/instances\/(\d+)\/$/.exec(p);
    if (one) {
      const instance = cloud.instances.get(one[1]!);
      if (req.method === 'GET') {
        return {
          status: 200,
          body: { instances: instance && instance.terminatedAt === null ? view(instance) : null },
        };
      }
      if (req.method === 'DELETE') {
        if (!instance || !cloud.terminate(one[1]!))
          return error(404, 'no_such_instance', 'Instance not found');
        return { status: 200, body: { success: true } };
      }
    }
    return error(404, 'not_found', `no route ${req.method} ${req.path}`);
  });
  return { baseUrl: `${server.url}/api/v0`, cloud, close: server.close };
}
