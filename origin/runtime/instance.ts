import { Worker } from 'node:worker_threads';
import { AppError } from '../../shared/errors/index.ts';
import {
  type ExecutionOptions,
  type ExecutionProviderName,
  type RuntimeLogger,
  reportCudaFallback,
  sessionAttempts,
} from './execution-provider.ts';
import type { RunJob } from './job-queue.ts';
import { respawnDelayMs } from './respawn-backoff.ts';
import { runFailureError } from './run-failure.ts';
import type { LoadedMessage, PoolMessage, SessionWorkerData, WorkerMessage } from './wire.ts';
import { fromWire } from './wire-tensors.ts';

const CLOSE_TIMEOUT_MS = 5_000;

type InstanceState = 'starting' | 'idle' | 'busy' | 'dead' | 'closing' | 'closed';

/** Run outcomes and worker restarts of a pool, counted by its instances. */
export interface RunCounters {
  completedRuns: number;
  failedRuns: number;
  crashes: number;
  restarts: number;
}

/** What an instance needs of the pool it belongs to. */
export interface InstanceHost {
  readonly modelPath: string;
  readonly label: string;
  readonly workerUrl: URL;
  readonly logger: RuntimeLogger;
  readonly counters: RunCounters;
  /** True once the pool is closing: crashed instances are then not restarted. */
  closing(): boolean;
  /** Hands queued runs to free instances; called whenever an instance may have become free. */
  pump(): void;
  /** A crash took instance `index` down: the runs queued for it alone fail with `reason`. */
  rejectTargeted(index: number, reason: string): void;
  /** A restart failed: when no instance is left running, the queued runs fail with `message`. */
  restartFailed(message: string): void;
  /** An instance stopped for good while the pool closes. */
  stopped(): void;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One onnxruntime session in its worker thread, supervised: a worker that exits unexpectedly fails the run it
 * had and is started again, after a growing delay (respawn-backoff.ts) while restarts keep failing.
 */
export class SessionInstance {
  state: InstanceState = 'starting';
  job: RunJob | undefined;
  provider: ExecutionProviderName = 'cpu';
  #worker: Worker | undefined;
  #lastError: string | undefined;
  /** Settles the pending load of the current worker. */
  #loadWaiter: { resolve: (m: LoadedMessage) => void; reject: (err: Error) => void } | undefined;
  #exited: Promise<void> = Promise.resolve();
  #respawnTimer: NodeJS.Timeout | undefined;
  #respawnFailures = 0;

  constructor(
    readonly index: number,
    readonly options: ExecutionOptions,
    readonly host: InstanceHost,
  ) {}

  /** Alive for scheduling: loaded, loading, or between crashes. */
  get running(): boolean {
    return this.state === 'idle' || this.state === 'busy' || this.state === 'starting';
  }

  /** Starts a worker and loads the session; resolves with what the worker reported once loaded. */
  start(): Promise<LoadedMessage> {
    const host = this.host;
    const worker = new Worker(host.workerUrl, {
      name: `onnx ${host.label} #${this.index}`,
      workerData: { nice: this.options.threadNice ?? 0 } satisfies SessionWorkerData,
    });
    this.#worker = worker;
    this.state = 'starting';
    this.#lastError = undefined;
    let onExit: () => void = () => {};
    this.#exited = new Promise<void>((resolve) => {
      onExit = resolve;
    });
    const loaded = new Promise<LoadedMessage>((resolve, reject) => {
      this.#loadWaiter = { resolve, reject };
    });
    worker.on('message', (msg: WorkerMessage) => {
      if (this.#worker === worker) this.#onMessage(worker, msg);
    });
    worker.on('error', (err) => {
      this.#lastError = messageOf(err);
    });
    worker.on('messageerror', (err) => {
      this.#lastError = `message could not be deserialised: ${messageOf(err)}`;
    });
    worker.on('exit', (code) => {
      onExit();
      if (this.#worker === worker) this.#onExit(code);
    });
    this.#post({ type: 'load', modelPath: host.modelPath, attempts: sessionAttempts(this.options) });
    return loaded.then((m) => {
      this.provider = m.provider;
      if (m.fallbackReason !== null && this.options.provider === 'cuda') {
        reportCudaFallback(host.logger, {
          reason: m.fallbackReason,
          deviceId: this.options.deviceId,
          modelPath: host.modelPath,
        });
      }
      return m;
    });
  }

  /** Sends a run to this (idle) instance. */
  dispatch(job: RunJob): void {
    this.state = 'busy';
    this.job = job;
    const message: PoolMessage = {
      type: 'run',
      id: job.id,
      inputs: job.inputs,
      outputNames: job.outputNames,
    };
    try {
      this.#post(message, job.transfer);
    } catch {
      // A buffer that cannot be transferred (e.g. marked untransferable): copy instead.
      try {
        this.#post(message);
      } catch (err) {
        this.state = 'idle';
        this.job = undefined;
        this.host.counters.failedRuns++;
        job.reject(new AppError('INFERENCE_FAILED', `cannot send inputs to the model: ${messageOf(err)}`));
        queueMicrotask(() => this.host.pump());
      }
    }
    // The job keeps no reference to the (transferred) data once posted.
    job.inputs = [];
    job.transfer = [];
  }

  /** Releases the session and ends the worker (terminated after CLOSE_TIMEOUT_MS if it does not exit). */
  async close(): Promise<void> {
    if (this.#respawnTimer) {
      clearTimeout(this.#respawnTimer);
      this.#respawnTimer = undefined;
    }
    const worker = this.#worker;
    if (!worker) {
      this.state = 'closed';
      return;
    }
    const wasStarting = this.state === 'starting';
    this.state = 'closing';
    if (wasStarting) {
      await worker.terminate();
    } else {
      this.#post({ type: 'close' });
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }

  #post(message: PoolMessage, transfer?: ArrayBuffer[]): void {
    this.#worker!.postMessage(message, transfer);
  }

  #onMessage(worker: Worker, msg: WorkerMessage): void {
    switch (msg.type) {
      case 'loaded': {
        const waiter = this.#loadWaiter;
        this.#loadWaiter = undefined;
        if (this.state === 'closing') {
          waiter?.reject(new Error('model pool closed while the instance was loading'));
          return;
        }
        this.state = 'idle';
        waiter?.resolve(msg);
        this.host.pump();
        return;
      }
      case 'load-error': {
        const waiter = this.#loadWaiter;
        this.#loadWaiter = undefined;
        this.state = 'closing';
        void worker.terminate();
        waiter?.reject(new Error(msg.message));
        return;
      }
      case 'result':
      case 'run-error': {
        const job = this.job;
        this.job = undefined;
        if (this.state === 'busy') this.state = 'idle';
        if (job && job.id === msg.id) {
          const counters = this.host.counters;
          if (msg.type === 'result') {
            try {
              const outputs = msg.outputs.map(fromWire);
              counters.completedRuns++;
              job.resolve(outputs);
            } catch (err) {
              counters.failedRuns++;
              job.reject(err as Error);
            }
          } else {
            counters.failedRuns++;
            job.reject(runFailureError(this.host.label, msg.message, msg.phase ?? 'outputs'));
          }
        }
        this.host.pump();
        return;
      }
    }
  }

  #onExit(code: number): void {
    const host = this.host;
    const reason = this.#lastError ?? `exit code ${code}`;
    const wasClosing = this.state === 'closing' || this.state === 'closed';
    this.#worker = undefined;
    if (this.#loadWaiter) {
      const waiter = this.#loadWaiter;
      this.#loadWaiter = undefined;
      this.state = 'dead';
      waiter.reject(new Error(`model worker exited during load (${reason})`));
      return;
    }
    if (wasClosing) {
      this.state = 'closed';
      return;
    }
    // A crash: fail the run it had, then start a fresh worker.
    this.state = 'dead';
    host.counters.crashes++;
    const job = this.job;
    this.job = undefined;
    host.logger.warn(
      { model: host.label, instance: this.index, reason, inFlight: job !== undefined },
      `model instance crashed (${reason}); restarting it`,
    );
    if (job) {
      host.counters.failedRuns++;
      job.reject(
        new AppError('INFERENCE_FAILED', `model ${host.label} instance crashed during inference (${reason})`),
      );
    }
    host.rejectTargeted(this.index, reason);
    if (host.closing()) {
      this.state = 'closed';
      host.stopped();
      return;
    }
    this.#respawn();
  }

  #respawn(): void {
    const host = this.host;
    this.start().then(
      () => {
        this.#respawnFailures = 0;
        host.counters.restarts++;
        host.logger.info({ model: host.label, instance: this.index }, 'model instance restarted');
        if (host.closing()) void this.close();
      },
      (err: unknown) => {
        this.state = 'dead';
        this.#respawnFailures++;
        const delay = respawnDelayMs(this.#respawnFailures);
        host.logger.warn(
          { model: host.label, instance: this.index, err: messageOf(err), retryInMs: delay },
          `model instance could not be restarted: ${messageOf(err)}`,
        );
        host.restartFailed(`model ${host.label} has no running instance: ${messageOf(err)}`);
        if (host.closing()) {
          this.state = 'closed';
          host.stopped();
          return;
        }
        this.#respawnTimer = setTimeout(() => {
          this.#respawnTimer = undefined;
          if (!host.closing()) this.#respawn();
        }, delay);
      },
    );
  }
}
