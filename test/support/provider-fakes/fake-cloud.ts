import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The state and fault switches every provider fake shares: a catalogue with capacity, instances that boot
 * after a delay on an injectable clock, and one-shot faults (5xx, 429, a launch whose answer never comes).
 * Each provider file only translates its documented request and response shapes onto this.
 */

export interface CatalogEntry {
  /** The provider's GPU type name (Vast gpu_name, RunPod GPU type id, Lambda instance type). */
  providerType: string;
  region: string;
  hourlyCostUsd: number;
}

export interface FakeInstance {
  id: string;
  name: string;
  providerType: string;
  region: string;
  hourlyCostUsd: number;
  image: string;
  env: Record<string, string>;
  userData: string | null;
  createdAt: number;
  /** Set by terminate; the instance then reads `terminated` until forgotten. */
  terminatedAt: number | null;
  /** Forces a state (e.g. a crashed container) regardless of boot progress. */
  forced: 'failed' | null;
}

export interface FakeCloudOptions {
  apiKey?: string;
  catalog?: CatalogEntry[];
  /** Launches each provider type can still take; absent = unlimited. */
  capacity?: Record<string, number>;
  bootDelayMs?: number;
  now?: () => number;
}

export interface Fault {
  status: number;
  /** Only requests whose `METHOD path` contains this match; all requests when absent. */
  match?: string;
}

export class FakeCloud {
  readonly apiKey: string;
  readonly catalog: CatalogEntry[];
  readonly capacity: Record<string, number>;
  bootDelayMs: number;
  now: () => number;
  quotaExceeded = false;
  readonly instances = new Map<string, FakeInstance>();
  /** Every request seen, as `METHOD path` (query string included). */
  readonly requests: string[] = [];
  readonly faults: Fault[] = [];
  readonly rateLimits: Fault[] = [];
  /** Launches that create the instance but never answer (the caller times out). */
  hangLaunches = 0;
  private seq = 0;

  constructor(options: FakeCloudOptions = {}) {
    this.apiKey = options.apiKey ?? 'fake-key';
    this.catalog = options.catalog ?? [];
    this.capacity = { ...(options.capacity ?? {}) };
    this.bootDelayMs = options.bootDelayMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  nextId(): number {
    this.seq += 1;
    return this.seq;
  }

  hasCapacity(providerType: string): boolean {
    const left = this.capacity[providerType];
    return left === undefined || left > 0;
  }

  /** Creates an instance, consuming capacity; the caller checked `hasCapacity`. */
  create(instance: Omit<FakeInstance, 'createdAt' | 'terminatedAt' | 'forced'>): FakeInstance {
    const left = this.capacity[instance.providerType];
    if (left !== undefined) this.capacity[instance.providerType] = left - 1;
    const created: FakeInstance = { ...instance, createdAt: this.now(), terminatedAt: null, forced: null };
    this.instances.set(created.id, created);
    return created;
  }

  terminate(id: string): boolean {
    const instance = this.instances.get(id);
    if (!instance || instance.terminatedAt !== null) return false;
    instance.terminatedAt = this.now();
    const left = this.capacity[instance.providerType];
    if (left !== undefined) this.capacity[instance.providerType] = left + 1;
    return true;
  }

  phase(instance: FakeInstance): 'booting' | 'running' | 'terminated' | 'failed' {
    if (instance.terminatedAt !== null) return 'terminated';
    if (instance.forced) return instance.forced;
    return this.now() - instance.createdAt >= this.bootDelayMs ? 'running' : 'booting';
  }

  live(): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.terminatedAt === null);
  }

  /** Queue `count` answers of `status` (5xx: the provider is down) for matching requests. */
  failNext(count: number, status = 503, match?: string): void {
    for (let i = 0; i < count; i++) this.faults.push({ status, match });
  }

  rateLimitNext(count: number, match?: string): void {
    for (let i = 0; i < count; i++) this.rateLimits.push({ status: 429, match });
  }

  takeFault(list: Fault[], request: string): Fault | undefined {
    const idx = list.findIndex((f) => f.match === undefined || request.includes(f.match));
    if (idx < 0) return undefined;
    return list.splice(idx, 1)[0];
  }
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FakeReply {
  status: number;
  /** Objects are sent as JSON; strings as text/plain. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (the socket stays open until the server closes). */
  hang?: boolean;
}

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: FakeReply): void {
  if (reply.hang) return;
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload = '';
  if (typeof reply.body === 'string') {
    headers['content-type'] = 'text/plain';
    payload = reply.body;
  } else if (reply.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(reply.body);
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** A plain HTTP server on 127.0.0.1 (random port) around a routing function. */
export async function startFakeServer(
  route: (req: FakeRequest) => FakeReply | Promise<FakeReply>,
): Promise<FakeServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = await readBody(req);
      let body: unknown = null;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          send(res, { status: 400, body: { error: 'body is not JSON' } });
          return;
        }
      }
      const reply = await route({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      send(res, reply);
    })().catch((err: unknown) => {
      send(res, { status: 500, body: { error: String(err) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function bearer(headers: IncomingMessage['headers']): string | null {
  const value = headers.authorization;
  return value?.startsWith('Bearer ') ? value.slice('Bearer '.length) : null;
}
