import {
  type LaunchRequest,
  type Offer,
  type ProviderAdapter,
  ProviderError,
  type ProviderInstance,
} from '../../workers/control/providers/types.ts';

export interface SimProviderSpec {
  name: string;
  hourlyCostUsd: number;
  bootMs: number;
  capacity: number;
}

interface Host {
  instance: ProviderInstance;
  readyAt: number;
}

/**
 * A GPU provider on the simulated clock, behind the same `ProviderAdapter` interface as the real adapters, so
 * the real failover (breakers, retries, idempotent client tokens) drives it. While `down`, every call fails
 * with a transient 503 (what a provider outage looks like from its API); at capacity, launches fail with
 * `no_capacity`.
 */
export class SimProvider implements ProviderAdapter {
  readonly name: string;
  readonly spec: SimProviderSpec;
  down = false;
  readonly #hosts = new Map<string, Host>();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #jitter: number;
  #seq = 0;
  /** Calls refused because the provider was down (for the report). */
  refused = 0;

  constructor(spec: SimProviderSpec, deps: { now: () => number; random: () => number; bootJitter: number }) {
    this.name = spec.name;
    this.spec = spec;
    this.#now = deps.now;
    this.#random = deps.random;
    this.#jitter = deps.bootJitter;
  }

  #check(): void {
    if (this.down) {
      this.refused++;
      throw new ProviderError(this.name, 'transient', 'HTTP 503: service unavailable', { status: 503 });
    }
  }

  async listOffers(gpuType: string): Promise<Offer[]> {
    this.#check();
    return [
      {
        provider: this.name,
        offerId: `${this.name}-${gpuType}`,
        gpuType,
        providerGpuType: gpuType,
        region: 'sim',
        gpuCount: 1,
        hourlyCostUsd: this.spec.hourlyCostUsd,
      },
    ];
  }

  async launch(req: LaunchRequest): Promise<ProviderInstance> {
    this.#check();
    for (const h of this.#hosts.values()) {
      if (h.instance.clientToken === req.clientToken && h.instance.status !== 'terminated') return h.instance;
    }
    if (this.active().length >= this.spec.capacity) {
      throw new ProviderError(this.name, 'no_capacity', `no ${req.gpuType} capacity left`, { status: 409 });
    }
    const now = this.#now();
    const boot = this.spec.bootMs * (1 - this.#jitter + 2 * this.#jitter * this.#random());
    const instance: ProviderInstance = {
      provider: this.name,
      providerInstanceId: `${this.name}-${++this.#seq}`,
      clientToken: req.clientToken,
      status: 'booting',
      gpuType: req.gpuType,
      region: 'sim',
      hourlyCostUsd: this.spec.hourlyCostUsd,
      publicUrl: null,
      createdAt: now,
    };
    this.#hosts.set(instance.providerInstanceId, { instance, readyAt: now + boot });
    return instance;
  }

  async get(id: string): Promise<ProviderInstance | null> {
    this.#check();
    return this.#hosts.get(id)?.instance ?? null;
  }

  async list(): Promise<ProviderInstance[]> {
    this.#check();
    return [...this.#hosts.values()].map((h) => h.instance);
  }

  async terminate(id: string): Promise<void> {
    this.#check();
    const host = this.#hosts.get(id);
    if (host) host.instance = { ...host.instance, status: 'terminated' };
  }

  /** Booting or running hosts (what counts against capacity). */
  active(): ProviderInstance[] {
    return [...this.#hosts.values()]
      .map((h) => h.instance)
      .filter((i) => i.status === 'booting' || i.status === 'running');
  }

  /** Advances boots; returns the ids that became ready now. */
  advance(): string[] {
    const now = this.#now();
    const ready: string[] = [];
    for (const h of this.#hosts.values()) {
      if (h.instance.status === 'booting' && h.readyAt <= now) {
        h.instance = { ...h.instance, status: 'running' };
        ready.push(h.instance.providerInstanceId);
      }
    }
    return ready;
  }

  /** The outage: the API fails and every host dies; returns the ids that died. */
  fail(): string[] {
    this.down = true;
    const died: string[] = [];
    for (const h of this.#hosts.values()) {
      if (h.instance.status === 'booting' || h.instance.status === 'running') {
        h.instance = { ...h.instance, status: 'failed' };
        died.push(h.instance.providerInstanceId);
      }
    }
    return died;
  }

  recover(): void {
    this.down = false;
  }

  /** A host that is ready from the start (the fleet the simulation begins with). */
  preWarm(): ProviderInstance {
    const instance: ProviderInstance = {
      provider: this.name,
      providerInstanceId: `${this.name}-${++this.#seq}`,
      clientToken: `warm-${this.#seq}`,
      status: 'running',
      gpuType: 'sim',
      region: 'sim',
      hourlyCostUsd: this.spec.hourlyCostUsd,
      publicUrl: null,
      createdAt: this.#now(),
    };
    this.#hosts.set(instance.providerInstanceId, { instance, readyAt: this.#now() });
    return instance;
  }
}
