import {
  FakeCloud,
  type FakeCloudOptions,
  type FakeInstance,
  type FakeReply,
  startFakeServer,
} from './fake-cloud.ts';

/**
 * Lambda Cloud's documented shapes (`/api/v1`): `GET /instance-types` → `{data:{<name>:{instance_type,
 * regions_with_capacity_available}}}`, `POST /instance-operations/launch` → `{data:{instance_ids:[…]}}`, `GET
 * /instances` → `{data:[…]}`, `GET /instances/{id}` → `{data:{…}}`, `POST /instance-operations/terminate` →
 * `{data:{terminated_instances:[…]}}`. Errors are `{error:{code,message,suggestion}}`. Auth is a Bearer token
 * or HTTP Basic with the key as user name.
 */
export interface FakeLambda {
  baseUrl: string;
  cloud: FakeCloud;
  close(): Promise<void>;
}

function error(status: number, code: string, message: string, suggestion?: string): FakeReply {
  return { status, body: { error: { code, message, ...(suggestion ? { suggestion } : {}) } } };
}

function apiKeyOf(authorization: string | undefined): string | null {
  if (!authorization) return null;
  if (authorization.startsWith('Bearer ')) return authorization.slice(7);
  if (authorization.startsWith('Basic ')) {
    return Buffer.from(authorization.slice(6), 'base64').toString('utf8').replace(/:$/, '');
  }
  return null;
}

export async function startFakeLambda(options: FakeCloudOptions = {}): Promise<FakeLambda> {
  const cloud = new FakeCloud(options);
  function view(i: FakeInstance) {
    const phase = cloud.phase(i);
    const status = { booting: 'booting', running: 'active', terminated: 'terminated', failed: 'unhealthy' }[
      phase
    ];
    const entry = cloud.catalog.find((c) => c.providerType === i.providerType);
    return {
      id: i.id,
      name: i.name,
      ip: phase === 'running' ? '192.0.2.10' : null,
      status,
      ssh_key_names: ['ops'],
      file_system_names: [],
      region: { name: i.region, description: i.region },
      instance_type: {
        name: i.providerType,
        description: i.providerType,
        price_cents_per_hour: Math.round((entry?.hourlyCostUsd ?? i.hourlyCostUsd) * 100),
      },
      hostname: `${i.id}.cloud.lambdalabs.com`,
    };
  }

  const server = await startFakeServer((req) => {
    const line = `${req.method} ${req.path}`;
    cloud.requests.push(line);
    if (apiKeyOf(req.headers.authorization) !== cloud.apiKey) {
      return error(401, 'global/invalid-api-key', 'API key was invalid, expired, or deleted.');
    }
    if (cloud.takeFault(cloud.rateLimits, line)) {
      return {
        ...error(429, 'global/too-many-requests', 'Too many requests'),
        headers: { 'retry-after': '12' },
      };
    }
    const fault = cloud.takeFault(cloud.faults, line);
    if (fault) return error(fault.status, 'global/unknown', 'An unknown error occurred');

    const p = req.path.replace(/^\/api\/v1/, '');
    if (req.method === 'GET' && p === '/instance-types') {
      const data: Record<string, unknown> = {};
      for (const entry of cloud.catalog) {
        const existing = data[entry.providerType] as
          | { regions_with_capacity_available: { name: string; description: string }[] }
          | undefined;
        const regions = existing?.regions_with_capacity_available ?? [];
        if (cloud.hasCapacity(entry.providerType))
          regions.push({ name: entry.region, description: entry.region });
        data[entry.providerType] = {
          instance_type: {
            name: entry.providerType,
            description: entry.providerType,
            price_cents_per_hour: Math.round(entry.hourlyCostUsd * 100),
            specs: { vcpus: 30, memory_gib: 200, storage_gib: 512, gpus: 1 },
          },
          regions_with_capacity_available: regions,
        };
      }
      return { status: 200, body: { data } };
    }
    if (req.method === 'POST' && p === '/instance-operations/launch') {
      const body = (req.body ?? {}) as {
        region_name?: string;
        instance_type_name?: string;
        ssh_key_names?: string[];
        name?: string;
        user_data?: string;
      };
      if (!body.region_name || !body.instance_type_name || body.ssh_key_names?.length !== 1) {
        return error(
          400,
          'global/invalid-parameters',
          'region_name, instance_type_name and exactly one ssh_key_names are required',
        );
      }
      if (cloud.quotaExceeded)
        return error(400, 'global/quota-exceeded', 'Quota exceeded for this instance type');
      const entry = cloud.catalog.find(
        (c) => c.providerType === body.instance_type_name && c.region === body.region_name,
      );
      if (!entry || !cloud.hasCapacity(entry.providerType)) {
        return error(
          400,
          'instance-operations/launch/insufficient-capacity',
          'Not enough capacity to fulfill launch request.',
          'Choose an instance type with more availability, or try again later.',
        );
      }
      const created = cloud.create({
        id: `0920${cloud.nextId().toString(16).padStart(8, '0')}`,
        name: body.name ?? '',
        providerType: entry.providerType,
        region: entry.region,
        hourlyCostUsd: entry.hourlyCostUsd,
        image: '',
        env: {},
        userData: body.user_data ?? null,
      });
      if (cloud.hangLaunches > 0) {
        cloud.hangLaunches -= 1;
        return { status: 200, hang: true };
      }
      return { status: 200, body: { data: { instance_ids: [created.id] } } };
    }
    if (req.method === 'GET' && p === '/instances') {
      return { status: 200, body: { data: cloud.live().map(view) } };
    }
    const one = /^\/instances\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && one) {
      const instance = cloud.instances.get(one[1]!);
      if (!instance || instance.terminatedAt !== null) {
        return error(404, 'global/object-does-not-exist', 'Specified instance does not exist.');
      }
      return { status: 200, body: { data: view(instance) } };
    }
    if (req.method === 'POST' && p === '/instance-operations/terminate') {
      const ids = ((req.body ?? {}) as { instance_ids?: string[] }).instance_ids ?? [];
      const missing = ids.find((id) => cloud.instances.get(id)?.terminatedAt !== null);
      if (ids.length === 0 || missing !== undefined) {
        return error(404, 'global/object-does-not-exist', 'Specified instance does not exist.');
      }
      const terminated = ids.map((id) => {
        cloud.terminate(id);
        return { ...view(cloud.instances.get(id)!), status: 'terminating' };
      });
      return { status: 200, body: { data: { terminated_instances: terminated } } };
    }
    return error(404, 'global/invalid-address', `no route ${req.method} ${req.path}`);
  });
  return { baseUrl: `${server.url}/api/v1`, cloud, close: server.close };
}
