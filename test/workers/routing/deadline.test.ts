import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors/index.ts';
import { Deadline, resolveDeadlineMs } from '../../../workers/routing/deadline.ts';

const settings = { defaultMs: 30_000, maxMs: 60_000 };

describe('resolveDeadlineMs', () => {
  it('uses the default when the client asks for nothing', () => {
    expect(resolveDeadlineMs(settings, null, undefined)).toBe(30_000);
  });

  it('takes the shortest of the header and the protocol timeout parameter (microseconds)', () => {
    expect(resolveDeadlineMs(settings, '5000', undefined)).toBe(5_000);
    expect(resolveDeadlineMs(settings, '5000', 2_000_000)).toBe(2_000);
    expect(resolveDeadlineMs(settings, null, 1_500)).toBe(2);
  });

  it('caps what the client asks for', () => {
    expect(resolveDeadlineMs(settings, '900000', undefined)).toBe(60_000);
  });

  it('rejects a malformed header or parameter with a 400 that says what was wrong', () => {
    for (const bad of ['abc', '-1', '0', '1.5']) {
      const err = (() => {
        try {
          resolveDeadlineMs(settings, bad, undefined);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).status).toBe(400);
      expect((err as AppError).message).toMatch(/X-Request-Timeout-Ms/);
    }
    expect(() => resolveDeadlineMs(settings, null, 'soon')).toThrow(/parameters.timeout/);
  });
});

describe('Deadline', () => {
  it('reports the remaining budget on its clock and caps attempts', () => {
    let now = 1_000;
    const deadline = new Deadline(500, () => now);
    expect(deadline.remainingMs()).toBe(500);
    expect(deadline.attemptSignal(200)).toMatchObject({ timeoutMs: 200, cappedByAttempt: true });
    now += 400;
    expect(deadline.attemptSignal(200)).toMatchObject({ timeoutMs: 100, cappedByAttempt: false });
    now += 200;
    expect(deadline.expired()).toBe(true);
    expect(deadline.exceeded('x').status).toBe(504);
  });
});
