/**
 * The origin's lifecycle. States move one way only:
 *
 *   starting ──ready()──▶ ready ──drain()──▶ draining ──stopped()──▶ stopped
 *
 * - starting: models are loading; live but not ready.
 * - ready: takes work.
 * - draining: readiness is false at once (load balancers and the edge registry stop sending), new inference is
 *   refused with 503 DRAINING, while queued and in-flight requests finish.
 * - stopped: everything is closed; the process may exit.
 */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopped';

export class Lifecycle {
  #state: LifecycleState = 'starting';
  readonly #listeners = new Set<(state: LifecycleState) => void>();
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];

  get state(): LifecycleState {
    return this.#state;
  }

  get isReady(): boolean {
    return this.#state === 'ready';
  }

  get acceptsWork(): boolean {
    return this.#state === 'ready' || this.#state === 'starting';
  }

  ready(): void {
    if (this.#state === 'starting') this.#set('ready');
  }

  drain(): boolean {
    if (this.#state === 'draining' || this.#state === 'stopped') return false;
    this.#set('draining');
    return true;
  }

  stopped(): void {
    this.#set('stopped');
  }

  /**
   * Marks a request as accepted until the returned function is called. A drain waits for these, because a
   * request still reading its body has been accepted but has not reached its model's queue yet.
   */
  enter(): () => void {
    this.#inflight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#inflight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
  }

  get inflight(): number {
    return this.#inflight;
  }

  whenIdle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  onChange(listener: (state: LifecycleState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(state: LifecycleState): void {
    if (this.#state === state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state);
  }
}
