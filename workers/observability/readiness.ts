/** A dependency as the last check found it. */
type DependencyState = 'up' | 'down';

/** What `GET /v2/health/ready` answers. */
interface ReadinessReport {
  ready: boolean;
  /** Each dependency this edge is configured with (Postgres with `DATABASE_URL`, Redis with Upstash). */
  dependencies: Record<string, DependencyState>;
}

export interface DependencyProbe {
  name: string;
  /** Resolves when the dependency answered; rejects (or outlasts the timeout) when it did not. */
  check(): Promise<unknown>;
}

export interface EdgeReadinessOptions {
  probes: DependencyProbe[];
  /** `HEALTH_READY_CACHE_MS`: a report younger than this is answered again without asking anyone. */
  cacheMs: number;
  /** `HEALTH_READY_TIMEOUT_MS`: a dependency slower than this is down. */
  timeoutMs: number;
  /** Epoch ms. */
  now(): number;
  /**
   * Concurrent probes share one check in progress (Node). Not on Workers: a request must not wait on I/O
   * another request started, so there each request past the cache checks for itself.
   */
  shareInFlight: boolean;
  /** A dependency found down (once per check). */
  onDown(name: string, error: unknown): void;
}

export interface EdgeReadiness {
  check(): Promise<ReadinessReport>;
}

function within<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether the edge can do its whole job: its configuration loaded (else there is no app to ask) and each
 * dependency it is configured with answers. Postgres counts even though authentication of known keys goes on
 * from the key cache without it: new keys, the admin API and (without Redis) usage need it, and a probe cannot
 * know which of those the next requests will need. The report is cached for `cacheMs`, so a storm of probes
 * costs one round trip to each database per period (per isolate).
 */
export function createEdgeReadiness(options: EdgeReadinessOptions): EdgeReadiness {
  let last: { at: number; report: ReadinessReport } | null = null;
  let inFlight: Promise<ReadinessReport> | null = null;

  const run = async (): Promise<ReadinessReport> => {
    const states = await Promise.all(
      options.probes.map(async (probe): Promise<[string, DependencyState]> => {
        try {
          await within(probe.check(), options.timeoutMs, probe.name);
          return [probe.name, 'up'];
        } catch (err) {
          options.onDown(probe.name, err);
          return [probe.name, 'down'];
        }
      }),
    );
    const report: ReadinessReport = {
      ready: states.every(([, state]) => state === 'up'),
      dependencies: Object.fromEntries(states),
    };
    last = { at: options.now(), report };
    return report;
  };

  return {
    check() {
      if (last && options.now() - last.at < options.cacheMs) return Promise.resolve(last.report);
      if (!options.shareInFlight) return run();
      inFlight ??= run().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
  };
}
