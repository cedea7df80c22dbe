import type { Clock } from '../../shared/clock.ts';

/**
 * The batcher's one wake-up timer, on the injected clock. Arming keeps a timer already due no later than the
 * new time (an early wake-up just decides again), so there is never more than one.
 */
export class WakeTimer {
  readonly #clock: Clock;
  readonly #onWake: () => void;
  #at = Number.POSITIVE_INFINITY;
  #cancel: (() => void) | undefined;
  readonly #fire = (): void => {
    this.#cancel = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    this.#onWake();
  };

  constructor(clock: Clock, onWake: () => void) {
    this.#clock = clock;
    this.#onWake = onWake;
  }

  /** Wakes at `at` (clock ms; `Infinity` = never, which cancels). */
  arm(at: number, now: number): void {
    if (at === Number.POSITIVE_INFINITY) {
      this.#cancel?.();
      this.#cancel = undefined;
      this.#at = at;
      return;
    }
    if (this.#cancel && this.#at <= at) return;
    this.#cancel?.();
    this.#at = at;
    this.#cancel = this.#clock.setTimeout(this.#fire, Math.max(0, at - now));
  }
}
