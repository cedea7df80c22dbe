/** Cumulative histogram buckets: `counts[i]` observations were ≤ `upperBounds[i]` seconds (last is +Inf). */
export interface CumulativeBuckets {
  upperBounds: number[];
  counts: number[];
}

/**
 * The q-quantile (0..1) in milliseconds of the observations made between two snapshots of the same
 * cumulative histogram, interpolating linearly inside the bucket as Prometheus' `histogram_quantile` does.
 * Null when nothing was observed in between. Differencing snapshots gives the *recent* latency the
 * heartbeat reports, not the average since the process started.
 */
export function quantileBetween(
  previous: CumulativeBuckets | null,
  current: CumulativeBuckets,
  q: number,
): number | null {
  const delta = current.counts.map((c, i) => Math.max(0, c - (previous?.counts[i] ?? 0)));
  const total = delta[delta.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  for (let i = 0; i < delta.length; i++) {
    const count = delta[i]!;
    if (count < rank) continue;
    const upper = current.upperBounds[i]!;
    const lower = i === 0 ? 0 : current.upperBounds[i - 1]!;
    // Past the last finite bound nothing is known but that it was slower: report that bound.
    if (!Number.isFinite(upper)) return lower * 1000;
    const below = i === 0 ? 0 : delta[i - 1]!;
    const inBucket = count - below;
    const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
    return (lower + (upper - lower) * fraction) * 1000;
  }
  return null;
}

interface HistogramValue {
  value: number;
  metricName?: string;
  labels: Record<string, string | number | undefined>;
}

/** Sums a prom-client histogram's `_bucket` series over all label sets into one cumulative histogram. */
export function bucketsOf(values: readonly HistogramValue[]): CumulativeBuckets {
  const byBound = new Map<number, number>();
  for (const v of values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels['le'];
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(bound)) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + v.value);
  }
  const upperBounds = [...byBound.keys()].sort((a, b) => a - b);
  return { upperBounds, counts: upperBounds.map((b) => byBound.get(b)!) };
}
