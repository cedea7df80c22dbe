import { cpus } from 'node:os';

/** Small helpers for both benchmarks' reports (latency recording is in shared/stats/latency.ts). */

/** Rounds for reports: keeps figures readable without hiding sub-millisecond differences. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function nowMs(): number {
  return performance.now();
}

/** Busy (non-idle) CPU time summed over all cores, in seconds, since boot. */
export function systemBusySeconds(): number {
  let busy = 0;
  for (const c of cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return busy / 1000;
}
