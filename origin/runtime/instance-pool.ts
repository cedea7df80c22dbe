import { AppError } from '../../shared/errors/index.ts';
import type { Tensor, TensorSpec } from '../protocol/tensor.ts';
import type { ExecutionOptions, ExecutionProviderName, RuntimeLogger } from './execution-provider.ts';
import { type InstanceHost, type RunCounters, SessionInstance } from './instance.ts';
import { JobQueue } from './job-queue.ts';
import type { LoadedMessage, WireTensor } from './wire.ts';
import { toSpecs, toWire } from './wire-tensors.ts';

/**
 * N onnxruntime sessions of one model file, one per worker thread (session.run blocks the thread it runs on).
 * HTTP, queueing and batching stay on the main thread; this pool only dispatches runs to free workers.
 *
 * Tensor data crosses threads in transfer lists: an input typed array that covers its whole ArrayBuffer is
 * MOVED to the worker (it is detached afterwards — do not reuse input tensors after `run`); a view into a larger
 * buffer is copied first so unrelated data sharing that buffer is never detached.
 */

export interface ModelIO {
  /** Shapes as the model declares them: symbolic dims are -1. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface ModelInstancePoolOptions {
  modelPath: string;
  /** Sessions (workers) to start, >= 1. */
  count: number;
  /** One set for every instance, or one per instance (length `count`). */
  sessionOptions: ExecutionOptions | readonly ExecutionOptions[];
  logger: RuntimeLogger;
  /** Names the model in logs and errors, e.g. "ocr-cls:1". Default: the model path. */
  label?: string;
  /** Worker entry script; tests substitute one. Default: session-worker.mjs beside this module. */
  workerUrl?: URL;
}

export interface PoolStats extends RunCounters {
  instances: number;
  /** Instances with a loaded session (idle or busy). */
  live: number;
  busy: number;
  queued: number;
}

const DEFAULT_WORKER_URL = new URL('./session-worker.mjs', import.meta.url);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ModelInstancePool {
  readonly modelPath: string;
  readonly label: string;
  readonly #instances: SessionInstance[];
  readonly #queue = new JobQueue();
  readonly #counters: RunCounters = { completedRuns: 0, failedRuns: 0, crashes: 0, restarts: 0 };
  #io: ModelIO = { inputs: [], outputs: [] };
  #nextId = 1;
  #closing = false;
  #idleWaiters: Array<() => void> = [];

  private constructor(options: ModelInstancePoolOptions) {
    const { count } = options;
    if (!(Number.isInteger(count) && count >= 1)) {
      throw new AppError('MODEL_LOAD_FAILED', `instance count must be an integer >= 1, got ${count}`);
    }
    const perInstance = Array.isArray(options.sessionOptions)
      ? (options.sessionOptions as readonly ExecutionOptions[])
      : Array.from({ length: count }, () => options.sessionOptions as ExecutionOptions);
    if (perInstance.length !== count) {
      throw new AppError(
        'MODEL_LOAD_FAILED',
        `sessionOptions lists ${perInstance.length} instances but count is ${count}`,
      );
    }
    this.modelPath = options.modelPath;
    this.label = options.label ?? options.modelPath;
    const host: InstanceHost = {
      modelPath: this.modelPath,
      label: this.label,
      workerUrl: options.workerUrl ?? DEFAULT_WORKER_URL,
      logger: options.logger,
      counters: this.#counters,
      closing: () => this.#closing,
      pump: () => this.#pump(),
      rejectTargeted: (index, reason) => {
        for (const job of this.#queue.removeTargeted(index)) {
          this.#counters.failedRuns++;
          job.reject(
            new AppError('INFERENCE_FAILED', `model ${this.label} instance ${index} crashed (${reason})`),
          );
        }
      },
      restartFailed: (message) => {
        if (!this.#instances.some((i) => i.running)) this.#rejectQueued(message);
      },
      stopped: () => this.#checkIdle(),
    };
    this.#instances = perInstance.map((o, i) => new SessionInstance(i, o, host));
  }

  /**
   * Starts `count` workers, each loading the model. Rejects with MODEL_LOAD_FAILED naming the file when any
   * session cannot be created (corrupt file, unsupported op...); workers already started are terminated.
   */
  static async create(options: ModelInstancePoolOptions): Promise<ModelInstancePool> {
    const pool = new ModelInstancePool(options);
    const results = await Promise.allSettled(pool.#instances.map((i) => i.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      const first = (results[0] as PromiseFulfilledResult<LoadedMessage>).value;
      pool.#io = { inputs: toSpecs(first.inputs, 'input'), outputs: toSpecs(first.outputs, 'output') };
    } catch (err) {
      await pool.#terminateAll();
      throw new AppError(
        'MODEL_LOAD_FAILED',
        `failed to load ONNX model ${options.modelPath}: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
    return pool;
  }

  /** Inputs and outputs as the ONNX file declares them. */
  get metadata(): ModelIO {
    return this.#io;
  }

  /** The provider the sessions actually run on ('cpu' after a CUDA fallback). */
  get provider(): ExecutionProviderName {
    return this.#instances[0]?.provider ?? 'cpu';
  }

  /** Provider per instance. */
  get providers(): ExecutionProviderName[] {
    return this.#instances.map((i) => i.provider);
  }

  get size(): number {
    return this.#instances.length;
  }

  get stats(): PoolStats {
    let live = 0;
    let busy = 0;
    for (const i of this.#instances) {
      if (i.state === 'idle' || i.state === 'busy') live++;
      if (i.state === 'busy') busy++;
    }
    return { instances: this.#instances.length, live, busy, queued: this.#queue.length, ...this.#counters };
  }

  /**
   * Runs the model on a free instance (queued FIFO while all are busy). `outputNames` defaults to every model
   * output. Input buffers are transferred (see the module comment). Rejects with INVALID_INPUT when the session
   * failed on this input, INFERENCE_FAILED for other failures or when the instance crashes mid-run (both carry
   * onnxruntime's message; see run-failure.ts), MODEL_NOT_READY once `close()` was called.
   */
  run(inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
    return this.#enqueue(inputs, outputNames, undefined);
  }

  /** Runs on one given instance (0-based); used for warm-up, which must touch every instance. */
  runOn(instance: number, inputs: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
    if (!(Number.isInteger(instance) && instance >= 0 && instance < this.#instances.length)) {
      return Promise.reject(
        new RangeError(`instance ${instance} is out of range 0..${this.#instances.length - 1}`),
      );
    }
    return this.#enqueue(inputs, outputNames, instance);
  }

  /** Waits for queued and in-flight runs, then releases every session and ends the workers. Idempotent. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#whenIdle();
    await this.#terminateAll();
  }

  #enqueue(
    inputs: readonly Tensor[],
    outputNames: readonly string[] | undefined,
    target: number | undefined,
  ): Promise<Tensor[]> {
    if (this.#closing) {
      return Promise.reject(new AppError('MODEL_NOT_READY', `model ${this.label} is unloading`));
    }
    if (target === undefined && !this.#instances.some((i) => i.state !== 'dead' && i.state !== 'closed')) {
      return Promise.reject(
        new AppError('INFERENCE_FAILED', `model ${this.label} has no running instance`, {
          retryAfterSeconds: 1,
        }),
      );
    }
    return new Promise<Tensor[]>((resolve, reject) => {
      const transfer = new Set<ArrayBuffer>();
      let wire: WireTensor[];
      try {
        wire = inputs.map((t) => toWire(t, transfer));
      } catch (err) {
        reject(new AppError('INFERENCE_FAILED', messageOf(err), { cause: err }));
        return;
      }
      this.#queue.push({
        id: this.#nextId++,
        inputs: wire,
        transfer: [...transfer],
        outputNames: outputNames ? [...outputNames] : this.#io.outputs.map((o) => o.name),
        target,
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  #pump(): void {
    this.#queue.dispatch(
      (job) => {
        if (job.target === undefined) return this.#instances.find((i) => i.state === 'idle');
        const instance = this.#instances[job.target];
        return instance?.state === 'idle' ? instance : undefined;
      },
      (instance, job) => instance.dispatch(job),
    );
    this.#checkIdle();
  }

  #rejectQueued(message: string): void {
    for (const job of this.#queue.removeAll()) {
      this.#counters.failedRuns++;
      job.reject(new AppError('INFERENCE_FAILED', message, { retryAfterSeconds: 1 }));
    }
    this.#checkIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    if (this.#queue.length > 0 && this.#instances.some((i) => i.state !== 'dead' && i.state !== 'closed')) {
      return false;
    }
    return !this.#instances.some((i) => i.state === 'busy');
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  async #terminateAll(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#instances.map((i) => i.close()));
    this.#rejectQueued(`model ${this.label} was closed`);
  }
}
