import type { Tensor } from '../protocol/tensor.ts';
import type { WireTensor } from './wire.ts';

/** One run waiting for (or running on) a model instance. */
export interface RunJob {
  id: number;
  /** Emptied once posted: the job keeps no reference to data transferred to the worker. */
  inputs: WireTensor[];
  transfer: ArrayBuffer[];
  outputNames: string[];
  /** Instance index when the run must go to one instance (warm-up). */
  target: number | undefined;
  resolve: (outputs: Tensor[]) => void;
  reject: (err: Error) => void;
}

/**
 * The runs a pool has not dispatched yet. Untargeted runs are served FIFO: the first that finds no free
 * instance stops the scan, so later runs never overtake it. A targeted run waits only for its own instance and
 * never holds up the others.
 */
export class JobQueue {
  readonly #jobs: RunJob[] = [];

  get length(): number {
    return this.#jobs.length;
  }

  push(job: RunJob): void {
    this.#jobs.push(job);
  }

  /**
   * Hands each dispatchable run to `dispatch`, in queue order. `freeInstance` names the instance that can take
   * the run now, or undefined; it is asked again after every dispatch, which changes which instances are free.
   */
  dispatch<I>(
    freeInstance: (job: RunJob) => I | undefined,
    dispatch: (instance: I, job: RunJob) => void,
  ): void {
    for (let q = 0; q < this.#jobs.length; ) {
      const job = this.#jobs[q]!;
      const instance = freeInstance(job);
      if (instance === undefined) {
        if (job.target === undefined) break;
        q++;
        continue;
      }
      this.#jobs.splice(q, 1);
      dispatch(instance, job);
    }
  }

  /** Removes and returns the runs that only instance `index` may take. */
  removeTargeted(index: number): RunJob[] {
    const removed: RunJob[] = [];
    for (let q = this.#jobs.length - 1; q >= 0; q--) {
      if (this.#jobs[q]!.target !== index) continue;
      removed.push(...this.#jobs.splice(q, 1));
    }
    return removed;
  }

  /** Removes and returns every queued run. */
  removeAll(): RunJob[] {
    return this.#jobs.splice(0);
  }
}
