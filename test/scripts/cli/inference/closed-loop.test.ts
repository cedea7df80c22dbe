import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../../../../scripts/cli/inference/closed-loop.ts';
import type { Outcome } from '../../../../scripts/cli/inference/send.ts';

const answer = (status: number | null, xCache: string | null = null, latencyMs = 1): Outcome => ({
  status,
  xCache,
  requestId: null,
  latencyMs,
  text: '',
  error: status === null ? 'cannot reach x: ECONNREFUSED' : status >= 300 ? `HTTP ${status}: no` : null,
});

describe('closed loop', () => {
  it('never sends more than the request cap, even with more clients than requests', async () => {
    let sent = 0;
    const s = await runClosedLoop(
      { concurrency: 8, durationMs: 60_000, maxRequests: 3, progressEveryMs: 1_000 },
      async () => {
        sent++;
        return answer(200);
      },
    );
    expect(sent).toBe(3);
    expect(s.requests).toBe(3);
  });

  it('counts statuses and X-Cache, keeps latency of successes only, and remembers the first error', async () => {
    const script = [
      answer(200, 'MISS', 5),
      answer(429),
      answer(200, 'HIT-EDGE', 1),
      answer(null),
      answer(200, 'HIT-EDGE', 3),
    ];
    let i = 0;
    const s = await runClosedLoop(
      { concurrency: 1, durationMs: 60_000, maxRequests: script.length, progressEveryMs: 1_000 },
      async () => script[i++]!,
    );
    expect(s.statuses).toEqual({ '200': 3, '429': 1, error: 1 });
    expect(s.xCache).toEqual({ MISS: 1, 'HIT-EDGE': 2 });
    expect(s.errors).toBe(2);
    expect(s.firstError).toBe('HTTP 429: no');
    expect(s.latency.count).toBe(3);
    expect(s.latency.maxMs).toBe(5);
  });

  it('stops sending once the duration is over, by the injected clock', async () => {
    let t = 0;
    const s = await runClosedLoop(
      { concurrency: 2, durationMs: 100, maxRequests: null, progressEveryMs: 1_000 },
      async () => {
        t += 10;
        return answer(200);
      },
      { now: () => t },
    );
    // Each send advances the clock 10 ms: the clients stop after about 100 ms of sends.
    expect(s.requests).toBeGreaterThanOrEqual(10);
    expect(s.requests).toBeLessThanOrEqual(12);
  });
});
