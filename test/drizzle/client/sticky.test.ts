import { describe, expect, it } from 'vitest';
import { createStickyTracker } from '../../../drizzle/client/sticky.ts';

describe('sticky tracker', () => {
  it('is sticky for exactly the window after a write', () => {
    let now = 0;
    const t = createStickyTracker({ windowMs: 1000, now: () => now });
    expect(t.isSticky('s')).toBe(false);
    t.markWrite('s');
    now = 999;
    expect(t.isSticky('s')).toBe(true);
    now = 1000;
    expect(t.isSticky('s')).toBe(false);
    expect(t.size()).toBe(0);
  });

  it('restarts the window on every write', () => {
    let now = 0;
    const t = createStickyTracker({ windowMs: 1000, now: () => now });
    t.markWrite('s');
    now = 900;
    t.markWrite('s');
    now = 1800;
    expect(t.isSticky('s')).toBe(true);
  });

  it('never remembers more than maxSessions, dropping the oldest', () => {
    const t = createStickyTracker({ windowMs: 60_000, now: () => 0, maxSessions: 3 });
    for (const id of ['a', 'b', 'c', 'd']) t.markWrite(id);
    expect(t.size()).toBe(3);
    expect(t.isSticky('a')).toBe(false);
    expect(t.isSticky('d')).toBe(true);
  });

  it('is never sticky with a zero window', () => {
    const t = createStickyTracker({ windowMs: 0 });
    t.markWrite('s');
    expect(t.isSticky('s')).toBe(false);
  });
});
