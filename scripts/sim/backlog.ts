interface Cohort {
  /** The second its requests arrived. */
  t: number;
  count: number;
}

/**
 * The fleet-wide FIFO backlog of the simulated edge: requests arrive as one fractional cohort per second and
 * are served, shed and timed out oldest first (shedding takes the newest). Callbacks report each cohort's share
 * as it is taken, so the caller's totals add up in the same order whatever the bookkeeping here.
 */
export class Backlog {
  readonly #cohorts: Cohort[] = [];
  #head = 0;

  total(): number {
    let s = 0;
    for (let i = this.#head; i < this.#cohorts.length; i++) s += this.#cohorts[i]!.count;
    return s;
  }

  arrive(t: number, count: number): void {
    this.#cohorts.push({ t, count });
  }

  /** Removes `share` of every waiting cohort (the work queued on hosts that died); returns how much. */
  loseShare(share: number): number {
    let lost = 0;
    for (let i = this.#head; i < this.#cohorts.length; i++) {
      const take = this.#cohorts[i]!.count * share;
      this.#cohorts[i]!.count -= take;
      lost += take;
    }
    return lost;
  }

  /** Serves up to `capacity` requests oldest first; `served(count, waitedMs)` per cohort taken. */
  serve(t: number, capacity: number, served: (count: number, waitedMs: number) => void): void {
    let left = capacity;
    while (this.#head < this.#cohorts.length && left > 1e-9) {
      const c = this.#cohorts[this.#head]!;
      const x = Math.min(c.count, left);
      served(x, (t - c.t) * 1000);
      left -= x;
      c.count -= x;
      if (c.count <= 1e-9) this.#head++;
    }
  }

  /** Sheds the newest requests beyond `limit` waiting; `shed(count)` per cohort cut. */
  shedAbove(limit: number, shed: (count: number) => void): void {
    let excess = this.total() - limit;
    for (let i = this.#cohorts.length - 1; i >= this.#head && excess > 1e-9; i--) {
      const cut = Math.min(this.#cohorts[i]!.count, excess);
      this.#cohorts[i]!.count -= cut;
      excess -= cut;
      shed(cut);
    }
  }

  /** Drops cohorts that waited `deadlineMs` or more (and empty ones); `timedOut(count)` per cohort dropped. */
  expire(t: number, deadlineMs: number, timedOut: (count: number) => void): void {
    const cohorts = this.#cohorts;
    while (
      this.#head < cohorts.length &&
      ((t - cohorts[this.#head]!.t) * 1000 >= deadlineMs || cohorts[this.#head]!.count <= 1e-9)
    ) {
      timedOut(cohorts[this.#head]!.count);
      this.#head++;
    }
    if (this.#head > 4096) {
      cohorts.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
