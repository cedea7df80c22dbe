import type { OriginRecord } from '../../shared/fleet/origin-record.ts';

/** Model name a statically configured origin lists: it is assumed to serve every model (it answers 404 if not). */
export const ANY_MODEL = '*';

export interface PickInput {
  origins: readonly OriginRecord[];
  model: string;
  version: string | null;
  /** The edge's region: origins there are preferred; other regions are the failover. */
  region: string | null;
  /** Origins already tried for this request, in order; the last one is never picked again. */
  tried: readonly string[];
  /** False while the origin's breaker is open (or its half-open trial is in flight). */
  isAvailable: (id: string) => boolean;
  /** Requests this isolate has in flight to the origin (load the registry has not seen yet). */
  localInflight?: (id: string) => number;
  /** Uniform in [0, 1); injectable so the choice is reproducible in tests. */
  random: () => number;
}

/** Ready, not draining, and serving the model (and version, when one is asked for and the origin lists any). */
export function servesModel(origin: OriginRecord, model: string, version: string | null): boolean {
  if (origin.status !== 'ready') return false;
  return origin.models.some(
    (m) =>
      m.name === ANY_MODEL ||
      (m.name === model && (version === null || m.versions.length === 0 || m.versions.includes(version))),
  );
}

/** In-flight plus queued work for the model, per unit of capacity: comparable across origins of any size. */
export function originLoad(origin: OriginRecord, model: string, localInflight = 0): number {
  const queued = origin.load.queueDepth[model] ?? 0;
  return (origin.load.inflight + queued + localInflight) / Math.max(1, origin.capacity.maxInflight);
}

/**
 * Power of two random choices: of two distinct random eligible origins, the less loaded. Eligible means
 * ready, serving the model, breaker not open, and not the origin tried last; untried origins are preferred
 * over ones already tried, and origins in the edge's region over others (cross-region failover only when the
 * region has none left). Null when nothing is eligible.
 */
export function pickOrigin(input: PickInput): OriginRecord | null {
  const last = input.tried.at(-1);
  let candidates = input.origins.filter(
    (o) => o.id !== last && servesModel(o, input.model, input.version) && input.isAvailable(o.id),
  );
  const untried = candidates.filter((o) => !input.tried.includes(o.id));
  if (untried.length > 0) candidates = untried;
  if (input.region !== null) {
    const local = candidates.filter((o) => o.region === input.region);
    if (local.length > 0) candidates = local;
  }
  if (candidates.length === 0) return null;
  if (candidates.length === 1) return candidates[0]!;
  const n = candidates.length;
  const i = Math.min(n - 1, Math.floor(input.random() * n));
  let j = Math.min(n - 2, Math.floor(input.random() * (n - 1)));
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  const local = input.localInflight ?? (() => 0);
  return originLoad(b, input.model, local(b.id)) < originLoad(a, input.model, local(a.id)) ? b : a;
}
