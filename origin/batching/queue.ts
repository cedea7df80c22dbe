import type { QueuedView } from './decide.ts';
import { isExpired } from './request-rules.ts';

/**
 * A queued request's bookkeeping: its place in its level's list and in the deadline heap. The batcher extends
 * it with the payload and the promise callbacks, so a request is one object, with no per-request wrappers.
 */
export class QueueEntry implements QueuedView {
  readonly batchKey: string;
  readonly size: number;
  readonly priority: number;
  readonly enqueuedAt: number;
  readonly deadline: number;
  /** @internal list links, valid while `queued`. */
  prev: QueueEntry | null = null;
  /** @internal */
  next: QueueEntry | null = null;
  /** @internal index in the deadline heap, -1 when not in it. */
  heapIndex = -1;
  queued = false;

  constructor(batchKey: string, size: number, priority: number, enqueuedAt: number, deadline: number) {
    this.batchKey = batchKey;
    this.size = size;
    this.priority = priority;
    this.enqueuedAt = enqueuedAt;
    this.deadline = deadline;
  }
}

/**
 * The batch queue: one FIFO per priority level (level 1 first), as intrusive doubly-linked lists, plus a
 * min-heap of deadlines. Push, shift and remove (abort) are O(1) apart from the heap's O(log n); iteration
 * is lazy, so a decision reads only the head of the queue.
 *
 * Bounded by `capacity` requests (0 = unbounded): `push` refuses when full. Counts requests and items.
 */
export class BoundedPriorityQueue<E extends QueueEntry> implements Iterable<E> {
  readonly levels: number;
  readonly capacity: number;
  private readonly heads: Array<QueueEntry | null>;
  private readonly tails: Array<QueueEntry | null>;
  private readonly heap: QueueEntry[] = [];
  private count = 0;
  private itemCount = 0;

  constructor(levels: number, capacity = 0) {
    if (!(Number.isInteger(levels) && levels >= 1))
      throw new RangeError(`levels must be >= 1, got ${levels}`);
    this.levels = levels;
    this.capacity = capacity;
    this.heads = new Array<QueueEntry | null>(levels).fill(null);
    this.tails = new Array<QueueEntry | null>(levels).fill(null);
  }

  /** Queued requests. */
  get size(): number {
    return this.count;
  }

  /** Queued items (sum of request sizes). */
  get items(): number {
    return this.itemCount;
  }

  get full(): boolean {
    return this.capacity > 0 && this.count >= this.capacity;
  }

  /** Appends at the tail of the entry's level; false (and nothing queued) when full. */
  push(entry: E): boolean {
    if (this.full) return false;
    if (entry.queued) throw new Error('entry is already queued');
    const level = entry.priority - 1;
    if (!(level >= 0 && level < this.levels)) throw new RangeError(`priority ${entry.priority} out of range`);
    const tail = this.tails[level] ?? null;
    entry.prev = tail;
    entry.next = null;
    if (tail) tail.next = entry;
    else this.heads[level] = entry;
    this.tails[level] = entry;
    entry.queued = true;
    this.count++;
    this.itemCount += entry.size;
    if (entry.deadline !== Number.POSITIVE_INFINITY) this.heapPush(entry);
    return true;
  }

  /** The next request in queue order, without removing it. */
  peek(): E | undefined {
    for (let l = 0; l < this.levels; l++) {
      const head = this.heads[l];
      if (head) return head as E;
    }
    return undefined;
  }

  /** Removes and returns the next request in queue order. */
  shift(): E | undefined {
    const head = this.peek();
    if (head) this.remove(head);
    return head;
  }

  /** Removes a queued entry (abort, expiry); false when it is not queued. */
  remove(entry: E): boolean {
    if (!entry.queued) return false;
    const level = entry.priority - 1;
    if (entry.prev) entry.prev.next = entry.next;
    else this.heads[level] = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tails[level] = entry.prev;
    entry.prev = null;
    entry.next = null;
    entry.queued = false;
    this.count--;
    this.itemCount -= entry.size;
    if (entry.heapIndex >= 0) this.heapRemove(entry);
    return true;
  }

  /** The earliest deadline of a queued request; `Infinity` when none has one. */
  earliestDeadline(): number {
    return this.heap[0]?.deadline ?? Number.POSITIVE_INFINITY;
  }

  /** Removes and returns one request whose deadline is <= `now` (earliest first), or undefined. */
  popExpired(now: number): E | undefined {
    const top = this.heap[0];
    if (!top || !isExpired(top, now)) return undefined;
    this.remove(top as E);
    return top as E;
  }

  /** Removes everything, returning it in queue order. */
  drain(): E[] {
    const out: E[] = [];
    for (let e = this.shift(); e; e = this.shift()) out.push(e);
    return out;
  }

  *[Symbol.iterator](): Iterator<E> {
    for (let l = 0; l < this.levels; l++) {
      for (let e = this.heads[l] ?? null; e; e = e.next) yield e as E;
    }
  }

  private heapPush(entry: QueueEntry): void {
    entry.heapIndex = this.heap.length;
    this.heap.push(entry);
    this.siftUp(entry.heapIndex);
  }

  private heapRemove(entry: QueueEntry): void {
    const i = entry.heapIndex;
    const last = this.heap.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.heap[i] = last;
    last.heapIndex = i;
    this.siftDown(i);
    this.siftUp(last.heapIndex);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const e = heap[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.deadline <= e.deadline) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    heap[i] = e;
    e.heapIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && heap[r]!.deadline < heap[l]!.deadline) c = r;
      const child = heap[c]!;
      if (child.deadline >= e.deadline) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = e;
    e.heapIndex = i;
  }
}
