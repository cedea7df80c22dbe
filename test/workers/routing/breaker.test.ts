import { afterEach, describe, expect, it, vi } from 'vitest';
import { BreakerRegistry } from '../../../workers/routing/breaker.ts';

const fail = async () => ({ kind: 'transport' as const });
const ok = async () => ({ kind: 'response' as const, status: 200 });

describe('BreakerRegistry', () => {
  it('opens after the configured consecutive failures and then refuses calls', async () => {
    const breakers = new BreakerRegistry({ consecutiveFailures: 3, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 2; i++) await breakers.execute('o1', fail);
    expect(breakers.state('o1')).toBe('closed');
    expect(breakers.isAvailable('o1')).toBe(true);
    await breakers.execute('o1', fail);
    expect(breakers.state('o1')).toBe('open');
    expect(breakers.isAvailable('o1')).toBe(false);
    let called = false;
    const result = await breakers.execute('o1', async () => {
      called = true;
      return { kind: 'response' as const, status: 200 };
    });
    expect(result).toEqual({ kind: 'breaker-open' });
    expect(called).toBe(false);
    // Other origins are unaffected.
    expect(breakers.isAvailable('o2')).toBe(true);
    expect(breakers.snapshot()).toEqual([{ originId: 'o1', state: 'open', openedAt: expect.any(Number) }]);
  });

  it('does not count 4xx, 429 or 503 answers as failures', async () => {
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    for (const status of [400, 404, 429, 503, 503, 503]) {
      await breakers.execute('o1', async () => ({ kind: 'response' as const, status }));
    }
    expect(breakers.state('o1')).toBe('closed');
  });

  it('a success resets the consecutive count', async () => {
    const breakers = new BreakerRegistry({ consecutiveFailures: 2, halfOpenAfterMs: 60_000 });
    await breakers.execute('o1', fail);
    await breakers.execute('o1', ok);
    await breakers.execute('o1', fail);
    expect(breakers.state('o1')).toBe('closed');
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets one trial through after the cooldown: success closes, failure re-opens', async () => {
    // cockatiel reads Date.now; faking only Date makes the cooldown exact without sleeping.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const sleep = async (ms: number) => vi.setSystemTime(Date.now() + ms);
    const breakers = new BreakerRegistry({ consecutiveFailures: 1, halfOpenAfterMs: 30 });
    await breakers.execute('o1', fail);
    expect(breakers.isAvailable('o1')).toBe(false);
    expect(breakers.msUntilAnyTrial(['o1'])).toBeGreaterThan(0);
    await sleep(29);
    expect(breakers.isAvailable('o1')).toBe(false);
    await sleep(1);
    expect(breakers.isAvailable('o1')).toBe(true);
    expect(breakers.msUntilAnyTrial(['o1'])).toBe(0);
    await breakers.execute('o1', fail);
    expect(breakers.state('o1')).toBe('open');
    expect(breakers.isAvailable('o1')).toBe(false);
    await sleep(40);
    // While the trial runs, the origin is not offered to other requests.
    let release!: () => void;
    const trial = breakers.execute(
      'o1',
      () =>
        new Promise<{ kind: 'response'; status: number }>((resolve) => {
          release = () => resolve({ kind: 'response', status: 200 });
        }),
    );
    expect(breakers.state('o1')).toBe('half-open');
    expect(breakers.isAvailable('o1')).toBe(false);
    release();
    await trial;
    expect(breakers.state('o1')).toBe('closed');
    expect(breakers.isAvailable('o1')).toBe(true);
  });
});
