import { describe, expect, it } from 'vitest';
import { BoundedPriorityQueue, QueueEntry } from '../../../origin/batching/queue.ts';

class Item extends QueueEntry {
  constructor(
    readonly name: string,
    priority = 1,
    deadline = Number.POSITIVE_INFINITY,
    size = 1,
  ) {
    super('k', size, priority, 0, deadline);
  }
}

function names(q: BoundedPriorityQueue<Item>): string[] {
  return [...q].map((e) => e.name);
}

describe('BoundedPriorityQueue', () => {
  it('iterates and shifts by priority level first, FIFO within a level', () => {
    const q = new BoundedPriorityQueue<Item>(3);
    for (const [name, p] of [
      ['a3', 3],
      ['b1', 1],
      ['c2', 2],
      ['d1', 1],
      ['e3', 3],
    ] as const) {
      q.push(new Item(name, p));
    }
    expect(names(q)).toEqual(['b1', 'd1', 'c2', 'a3', 'e3']);
    expect(q.peek()?.name).toBe('b1');
    expect(q.shift()?.name).toBe('b1');
    expect(q.drain().map((e) => e.name)).toEqual(['d1', 'c2', 'a3', 'e3']);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });

  it('counts requests and items and refuses pushes beyond its capacity', () => {
    const q = new BoundedPriorityQueue<Item>(1, 2);
    expect(q.push(new Item('a', 1, Number.POSITIVE_INFINITY, 4))).toBe(true);
    expect(q.push(new Item('b', 1, Number.POSITIVE_INFINITY, 3))).toBe(true);
    expect(q.full).toBe(true);
    expect(q.push(new Item('c'))).toBe(false);
    expect(q.size).toBe(2);
    expect(q.items).toBe(7);
  });

  it('is unbounded at capacity 0', () => {
    const q = new BoundedPriorityQueue<Item>(1, 0);
    for (let i = 0; i < 10_000; i++) expect(q.push(new Item(`n${i}`))).toBe(true);
    expect(q.full).toBe(false);
    expect(q.size).toBe(10_000);
  });

  it('removes an entry from the middle of a level in O(1) and keeps order', () => {
    const q = new BoundedPriorityQueue<Item>(2);
    const items = ['a', 'b', 'c', 'd'].map((n) => new Item(n));
    for (const e of items) q.push(e);
    expect(q.remove(items[1]!)).toBe(true);
    expect(q.remove(items[3]!)).toBe(true);
    expect(q.remove(items[1]!)).toBe(false);
    expect(names(q)).toEqual(['a', 'c']);
    q.push(new Item('e'));
    expect(names(q)).toEqual(['a', 'c', 'e']);
    expect(q.size).toBe(3);
  });

  it('tracks the earliest deadline and pops expired entries earliest first', () => {
    const q = new BoundedPriorityQueue<Item>(2);
    q.push(new Item('late', 1, 30));
    q.push(new Item('none', 1));
    q.push(new Item('early', 2, 10));
    q.push(new Item('mid', 1, 20));
    expect(q.earliestDeadline()).toBe(10);
    expect(q.popExpired(9.9)).toBeUndefined();
    expect(q.popExpired(25)?.name).toBe('early');
    expect(q.popExpired(25)?.name).toBe('mid');
    expect(q.popExpired(25)).toBeUndefined();
    expect(names(q)).toEqual(['late', 'none']);
    expect(q.earliestDeadline()).toBe(30);
  });

  it('drops a removed or shifted entry from the deadline index', () => {
    const q = new BoundedPriorityQueue<Item>(1);
    const a = new Item('a', 1, 5);
    q.push(a);
    q.push(new Item('b', 1, 7));
    q.remove(a);
    expect(q.earliestDeadline()).toBe(7);
    q.shift();
    expect(q.earliestDeadline()).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps the deadline heap consistent under random pushes and removals', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const q = new BoundedPriorityQueue<Item>(3);
    const live = new Set<Item>();
    for (let step = 0; step < 5000; step++) {
      if (live.size === 0 || rand() < 0.6) {
        const e = new Item(`n${step}`, 1 + Math.floor(rand() * 3), Math.floor(rand() * 1000));
        q.push(e);
        live.add(e);
      } else {
        const arr = [...live];
        const victim = arr[Math.floor(rand() * arr.length)]!;
        q.remove(victim);
        live.delete(victim);
      }
      const min = Math.min(...[...live].map((e) => e.deadline));
      expect(q.earliestDeadline()).toBe(min);
    }
    expect(q.size).toBe(live.size);
  });

  it('rejects a priority outside its levels', () => {
    const q = new BoundedPriorityQueue<Item>(2);
    expect(() => q.push(new Item('x', 3))).toThrow(RangeError);
  });
});
