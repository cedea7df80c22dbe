import { describe, expect, it } from 'vitest';
import { createEventLoopMonitor } from '../../../origin/observability/event-loop.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createEventLoopMonitor', () => {
  it('reports zeros before any sample and numbers after', async () => {
    const monitor = createEventLoopMonitor();
    expect(monitor.resolutionMs).toBeLessThanOrEqual(10);
    expect(monitor.stats()).toEqual({ p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, samples: 0 });
    await sleep(60);
    const s = monitor.stats();
    expect(s.samples).toBeGreaterThan(0);
    for (const v of [s.p50Ms, s.p99Ms, s.maxMs, s.meanMs]) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
    monitor.stop();
  });

  it('sees a blocked loop and forgets it after reset', async () => {
    const monitor = createEventLoopMonitor({ resolutionMs: 5 });
    await sleep(20);
    const until = Date.now() + 80;
    while (Date.now() < until) {
      // block the loop
    }
    await sleep(20);
    expect(monitor.stats().maxMs).toBeGreaterThan(50);
    monitor.reset();
    expect(monitor.stats().samples).toBe(0);
    monitor.stop();
  });

  it('caps the resolution at 10 ms', () => {
    const monitor = createEventLoopMonitor({ resolutionMs: 100 });
    expect(monitor.resolutionMs).toBe(10);
    monitor.stop();
  });
});
