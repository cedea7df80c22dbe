/** Fleet load at one instant: requests in flight or queued across the replicas that serve. */
export interface LoadSample {
  /** Milliseconds on the caller's clock (any epoch; only differences matter). */
  at: number;
  inflight: number;
}

/**
 * Time-weighted mean of a step function through the samples over (now − windowMs, now]: each sample holds
 * until the next one (the last until `now`), and the sample in force when the window opens counts from the
 * window's start. Weighting by time keeps irregular sampling (a missed tick, a burst of samples) from skewing
 * the mean. Null when no sample falls at or before `now`.
 */
export function windowMean(samples: readonly LoadSample[], now: number, windowMs: number): number | null {
  const start = now - windowMs;
  const sorted = samples
    .filter((s) => s.at <= now && Number.isFinite(s.inflight))
    .sort((a, b) => a.at - b.at);
  if (sorted.length === 0) return null;
  let firstIdx = sorted.findIndex((s) => s.at > start);
  if (firstIdx === -1) firstIdx = sorted.length;
  // The sample in force at the window's start, if any; else the window begins at the first sample.
  const carried = firstIdx > 0 ? sorted[firstIdx - 1]! : null;
  const points = carried
    ? [{ at: start, inflight: carried.inflight }, ...sorted.slice(firstIdx)]
    : sorted.slice(firstIdx);
  if (points.length === 0) return null;
  const span = now - points[0]!.at;
  if (span <= 0) return Math.max(0, points[points.length - 1]!.inflight);
  let area = 0;
  for (let i = 0; i < points.length; i++) {
    const until = i + 1 < points.length ? points[i + 1]!.at : now;
    area += Math.max(0, points[i]!.inflight) * (until - points[i]!.at);
  }
  return area / span;
}

/** The latest epoch at which any sample showed load, or null when none did. */
export function lastActiveAt(samples: readonly LoadSample[], now: number): number | null {
  let last: number | null = null;
  for (const s of samples) if (s.at <= now && s.inflight > 0 && (last === null || s.at > last)) last = s.at;
  return last;
}

/** Drops samples that no window needs any more (keeps the one in force at the oldest window's start). */
export function pruneSamples(samples: readonly LoadSample[], now: number, keepMs: number): LoadSample[] {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const start = now - keepMs;
  const firstInside = sorted.findIndex((s) => s.at > start);
  if (firstInside === -1) return sorted.slice(-1);
  return sorted.slice(Math.max(0, firstInside - 1));
}
