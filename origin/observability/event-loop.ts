import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopStats {
  /** Event-loop delay percentiles in milliseconds since the last reset (0 when nothing was sampled yet). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Samples taken since the last reset. */
  samples: number;
}

export interface EventLoopMonitor {
  readonly resolutionMs: number;
  stats(): EventLoopStats;
  reset(): void;
  stop(): void;
}

export interface EventLoopMonitorOptions {
  /** Sampling timer period; at most 10 ms so short stalls are seen. */
  resolutionMs?: number;
}

const NS_PER_MS = 1e6;

/**
 * Wraps `perf_hooks.monitorEventLoopDelay`. Node's samples are the full timer period (the resolution plus
 * any delay), so an idle loop would read ≈ resolution; we subtract the resolution to report the lag itself.
 * Each monitor has its own histogram, so the metrics endpoint and a benchmark can reset independently.
 */
export function createEventLoopMonitor(options: EventLoopMonitorOptions = {}): EventLoopMonitor {
  const resolutionMs = Math.min(10, Math.max(1, Math.round(options.resolutionMs ?? 10)));
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  const lag = (ns: number) => Math.max(0, ns / NS_PER_MS - resolutionMs);

  return {
    resolutionMs,
    stats() {
      const samples = histogram.count;
      if (samples === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 };
      return {
        p50Ms: lag(histogram.percentile(50)),
        p99Ms: lag(histogram.percentile(99)),
        maxMs: lag(histogram.max),
        meanMs: lag(histogram.mean),
        samples,
      };
    },
    reset() {
      histogram.reset();
    },
    stop() {
      histogram.disable();
    },
  };
}
