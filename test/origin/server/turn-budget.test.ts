import { describe, expect, it } from 'vitest';
import { TurnBudget } from '../../../origin/server/turn-budget.ts';

/** A fake clock and a manual "next turn": tests decide when the deferred boundary runs. */
function harness(budgetMs: number) {
  let now = 0;
  const deferred: Array<() => void> = [];
  const budget = new TurnBudget({ budgetMs, now: () => now, defer: (fn) => deferred.push(fn) });
  const log: string[] = [];
  /** A job that takes `ms` of (fake) time and logs its name when it runs. */
  const job = (name: string, ms: number) => () => {
    log.push(name);
    now += ms;
    return name;
  };
  const nextTurn = () => {
    const fns = deferred.splice(0);
    for (const fn of fns) fn();
  };
  return { budget, log, job, nextTurn, deferred };
}

describe('TurnBudget', () => {
  it('runs a job synchronously inside run() while the turn has budget left', async () => {
    const h = harness(2);
    const p = h.budget.run(h.job('a', 0.5));
    expect(h.log).toEqual(['a']);
    await expect(p).resolves.toBe('a');
    expect(h.budget.spentMs).toBe(0.5);
  });

  it('defers jobs past the budget to the next turn, in FIFO order', async () => {
    const h = harness(2);
    void h.budget.run(h.job('a', 3)); // over budget on its own: still runs, the turn is then spent
    const b = h.budget.run(h.job('b', 1));
    const c = h.budget.run(h.job('c', 1));
    expect(h.log).toEqual(['a']);
    expect(h.budget.queued).toBe(2);
    h.nextTurn();
    expect(h.log).toEqual(['a', 'b', 'c']);
    await expect(b).resolves.toBe('b');
    await expect(c).resolves.toBe('c');
  });

  it('runs only a budget worth of queued jobs per turn and leaves the rest for the following turns', () => {
    const h = harness(2);
    void h.budget.run(h.job('first', 5));
    for (const name of ['q1', 'q2', 'q3', 'q4', 'q5']) void h.budget.run(h.job(name, 1.5));
    h.nextTurn(); // q1 (1.5 ms) is under budget, q2 brings it to 3 ms: stop
    expect(h.log).toEqual(['first', 'q1', 'q2']);
    h.nextTurn();
    expect(h.log).toEqual(['first', 'q1', 'q2', 'q3', 'q4']);
    h.nextTurn();
    expect(h.log).toEqual(['first', 'q1', 'q2', 'q3', 'q4', 'q5']);
    expect(h.budget.queued).toBe(0);
  });

  it('always runs at least one queued job per turn, however long it is', () => {
    const h = harness(1);
    void h.budget.run(h.job('a', 10));
    void h.budget.run(h.job('b', 10));
    void h.budget.run(h.job('c', 10));
    h.nextTurn();
    expect(h.log).toEqual(['a', 'b']);
    h.nextTurn();
    expect(h.log).toEqual(['a', 'b', 'c']);
  });

  it('runs a job submitted while others wait after them, never ahead', () => {
    const h = harness(2);
    void h.budget.run(h.job('a', 3));
    void h.budget.run(h.job('b', 3));
    void h.budget.run(h.job('c', 3));
    h.nextTurn(); // runs b only
    void h.budget.run(h.job('late', 0)); // c is still waiting
    expect(h.log).toEqual(['a', 'b']);
    h.nextTurn();
    expect(h.log).toEqual(['a', 'b', 'c']);
    h.nextTurn();
    expect(h.log).toEqual(['a', 'b', 'c', 'late']);
  });

  it('resets the spent budget at the next turn even when nothing was queued', () => {
    const h = harness(2);
    void h.budget.run(h.job('a', 3));
    expect(h.deferred).toHaveLength(1);
    h.nextTurn();
    expect(h.budget.spentMs).toBe(0);
    expect(h.deferred).toHaveLength(0);
    void h.budget.run(h.job('b', 0.1));
    expect(h.log).toEqual(['a', 'b']);
  });

  it('rejects only the promise of a job that throws, counts its time and keeps serving', async () => {
    const h = harness(2);
    const fail = h.budget.run(() => {
      h.job('failing', 1.5)();
      throw new Error('bad body');
    });
    await expect(fail).rejects.toThrow('bad body');
    expect(h.budget.spentMs).toBe(1.5);
    const ok = h.budget.run(h.job('next', 0.1));
    await expect(ok).resolves.toBe('next');
  });

  it('refuses a budget that is not a positive number', () => {
    for (const budgetMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TurnBudget({ budgetMs, now: () => 0 })).toThrow(/budgetMs/);
    }
  });

  it('with the default deferral (setImmediate), a queued job waits for a later event-loop turn', async () => {
    // Real setImmediate; only the order of callbacks is asserted. Time is simulated, so the budget decides.
    let now = 0;
    const budget = new TurnBudget({ budgetMs: 1, now: () => now });
    const order: string[] = [];
    const decode = (name: string) => () => {
      order.push(name);
      now += 5;
    };
    const done = Promise.all([
      budget.run(decode('decode-1')),
      budget.run(decode('decode-2')),
      budget.run(decode('decode-3')),
    ]);
    setImmediate(() => order.push('other-callback'));
    await done;
    // decode-1 runs at once; decode-2 in this turn's check phase; decode-3 only in the next turn, after the
    // other callback of this turn.
    expect(order).toEqual(['decode-1', 'decode-2', 'other-callback', 'decode-3']);
  });
});
