import {
  bearer,
  FakeCloud,
  type FakeCloudOptions,
  type FakeInstance,
  type FakeReply,
  startFakeServer,
} from './fake-cloud.ts';

/**
 * RunPod REST v1's documented shapes (`/v1`): `POST /pods` → 201 Pod, `GET /pods[?name=]` → Pod[], `GET
 * /pods/{podId}` → Pod, `DELETE /pods/{podId}` → 200. Errors are `{"error":"…","status":N}`; capacity
 * exhaustion is a 500 whose message says no instances are available.
 */
export interface FakeRunPod {
  baseUrl: string;
  cloud: FakeCloud;
  close(): Promise<void>;
}

function error(status: number, message: string): FakeReply {
  return { status, body: { error: message, status } };
}

export async function startFakeRunPod(options: FakeCloudOptions = {}): Promise<FakeRunPod> {
  const cloud = new FakeCloud(options);

  function view(i: FakeInstance) {
    const phase = cloud.phase(i);
    const started = phase === 'running';
    return {
      id: i.id,
      name: i.name,
      image: i.image,
      desiredStatus: phase === 'failed' ? 'EXITED' : phase === 'terminated' ? 'TERMINATED' : 'RUNNING',
      costPerHr: i.hourlyCostUsd,
      adjustedCostPerHr: i.hourlyCostUsd,
      gpu: { id: i.providerType, count: 1, displayName: i.providerType },
      machine: { dataCenterId: i.region, gpuTypeId: i.providerType },
      env: i.env,
      ports: ['8000/http'],
      publicIp: started ? '203.0.113.9' : null,
      portMappings: started ? { '8000': 8000 } : null,
      lastStartedAt: started ? new Date(i.createdAt + cloud.bootDelayMs).toISOString() : null,
    };
  }

  const server = await startFakeServer((req) => {
    const line = `${req.method} ${req.path}${req.query.size ? `?${req.query}` : ''}`;
    cloud.requests.push(line);
    if (bearer(req.headers) !== cloud.apiKey) return error(401, 'Unauthorized');
    if (cloud.takeFault(cloud.rateLimits, line)) {
      return {
        status: 429,
        body: { error: 'Too many requests', status: 429 },
        headers: { 'retry-after': '1' },
      };
    }
    const fault = cloud.takeFault(cloud.faults, line);
    if (fault) return error(fault.status, 'upstream unavailable');

    const p = req.path.replace(/^\/v1/, '');
    if (req.method === 'POST' && p === '/pods') {
      const body = (req.body ?? {}) as {
        name?: string;
        imageName?: string;
        gpuTypeIds?: string[];
        dataCenterIds?: string[];
        env?: Record<string, string>;
      };
      if (!body.imageName || !Array.isArray(body.gpuTypeIds) || body.gpuTypeIds.length === 0) {
        return error(400, 'imageName and gpuTypeIds are required');
      }
      if (cloud.quotaExceeded) return error(402, 'Your balance is too low to start this pod');
      const entry = cloud.catalog.find(
        (c) =>
          body.gpuTypeIds!.includes(c.providerType) &&
          (!body.dataCenterIds || body.dataCenterIds.includes(c.region)) &&
          cloud.hasCapacity(c.providerType),
      );
      if (!entry) {
        return error(
          500,
          'create pod: There are no longer any instances available with the requested specifications. Please refresh and try again.',
        );
      }
      const created = cloud.create({
        id: `pod${cloud.nextId()}x`,
        name: body.name ?? '',
        providerType: entry.providerType,
        region: entry.region,
        hourlyCostUsd: entry.hourlyCostUsd,
        image: body.imageName,
        env: body.env ?? {},
        userData: null,
      });
      if (cloud.hangLaunches > 0) {
        cloud.hangLaunches -= 1;
        return { status: 201, hang: true };
      }
      return { status: 201, body: view(created) };
    }
    if (req.method === 'GET' && p === '/pods') {
      const name = req.query.get('name');
      const pods = cloud.live().filter((i) => name === null || i.name === name);
      return { status: 200, body: pods.map(view) };
    }
    const one = /^\/pods\/([^/]+)$/.exec(p);
    if (one) {
      const instance = cloud.instances.get(one[1]!);
      if (!instance || instance.terminatedAt !== null) return error(404, 'pod not found');
      if (req.method === 'GET') return { status: 200, body: view(instance) };
      if (req.method === 'DELETE') {
        cloud.terminate(instance.id);
        return { status: 200, body: null };
      }
    }
    return error(404, `no route ${req.method} ${req.path}`);
  });
  return { baseUrl: `${server.url}/v1`, cloud, close: server.close };
}
