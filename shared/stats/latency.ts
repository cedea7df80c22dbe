/** Latency samples in milliseconds and their percentiles (benchmarks and the CLI's load command). */

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Collects samples into a growable Float64Array (no per-sample allocation on the hot path). */
export class LatencyRecorder {
  #data = new Float64Array(4096);
  #n = 0;

  add(ms: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = ms;
  }

  get count(): number {
    return this.#n;
  }

  summary(): LatencySummary {
    return summarize(this.#data.subarray(0, this.#n));
  }
}

/** Nearest-rank percentile of an ascending-sorted array; 0 for an empty one. */
function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  const idx = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[idx]!;
}

function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    p50Ms: percentileSorted(sorted, 50),
    p90Ms: percentileSorted(sorted, 90),
    p99Ms: percentileSorted(sorted, 99),
    meanMs: n === 0 ? 0 : sum / n,
    maxMs: n === 0 ? 0 : sorted[n - 1]!,
  };
}
