import { Worker } from 'node:worker_threads';
import { AppError } from '../../shared/errors/index.ts';
import type { Tensor, TensorData, TensorSpec } from '../protocol/tensor.ts';
import { fromOrtType, toOrtType } from './datatypes.ts';
import {
  type ExecutionOptions,
  type ExecutionProviderName,
  type RuntimeLogger,
  reportCudaFallback,
  sessionAttempts,
} from './execution-provider.ts';
import { type RunPhase, runFailureError } from './run-failure.ts';

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

export interface PoolStats {
  instances: number;
  /** Instances with a loaded session (idle or busy). */
  live: number;
  busy: number;
  queued: number;
  /** Runs that returned outputs. */
  completedRuns: number;
  /** Runs that were rejected (onnxruntime errors, crashes). */
  failedRuns: number;
  /** Workers that crashed (exited unexpectedly). */
  crashes: number;
  /** Workers started again after a crash. */
  restarts: number;
}

interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: TensorData;
}

interface WireMetadata {
  name: string;
  isTensor: boolean;
  type: string | null;
  shape: Array<number | string>;
}

type WorkerMessage =
  | {
      type: 'loaded';
      provider: ExecutionProviderName;
      fallbackReason: string | null;
      inputs: WireMetadata[];
      outputs: WireMetadata[];
    }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[] }
  | { type: 'run-error'; id: number; message: string; phase?: RunPhase };

type LoadedMessage = Extract<WorkerMessage, { type: 'loaded' }>;

interface Job {
  id: number;
  inputs: WireTensor[];
  transfer: ArrayBuffer[];
  outputNames: string[];
  /** Instance index when the run must go to one instance (warm-up). */
  target: number | undefined;
  resolve: (outputs: Tensor[]) => void;
  reject: (err: Error) => void;
}

type InstanceState = 'starting' | 'idle' | 'busy' | 'dead' | 'closing' | 'closed';

class Instance {
  worker: Worker | undefined;
  state: InstanceState = 'starting';
  job: Job | undefined;
  provider: ExecutionProviderName = 'cpu';
  lastError: string | undefined;
  /** Settles the pending load of the current worker. */
  loadWaiter: { resolve: (m: LoadedMessage) => void; reject: (err: Error) => void } | undefined;
  exited: Promise<void> = Promise.resolve();
  respawnTimer: NodeJS.Timeout | undefined;
  respawnFailures = 0;

  constructor(
    readonly index: number,
    readonly options: ExecutionOptions,
  ) {}
}

const DEFAULT_WORKER_URL = new URL('./session-worker.mjs', import.meta.url);
const CLOSE_TIMEOUT_MS = 5_000;
const MAX_RESPAWN_DELAY_MS = 30_000;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function toSpecs(list: WireMetadata[], kind: 'input' | 'output'): TensorSpec[] {
  return list.map((m) => {
    if (!m.isTensor || m.type === null) {
      throw new Error(`${kind} '${m.name}' is not a tensor (sequence and map values are not supported)`);
    }
    const datatype = fromOrtType(m.type);
    if (!datatype) throw new Error(`${kind} '${m.name}' has unsupported element type ${m.type}`);
    return {
      name: m.name,
      datatype,
      shape: m.shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1)),
    };
  });
}

function toWire(tensor: Tensor, transfer: Set<ArrayBuffer>): WireTensor {
  const type = toOrtType(tensor.datatype);
  const dims = [...tensor.shape];
  if (Array.isArray(tensor.data)) return { name: tensor.name, type, dims, data: tensor.data };
  let data = tensor.data;
  const buffer = data.buffer;
  if (
    !(buffer instanceof ArrayBuffer) ||
    data.byteOffset !== 0 ||
    data.byteLength !== buffer.byteLength ||
    transfer.has(buffer)
  ) {
    data = (data as Uint8Array).slice() as typeof data;
  }
  transfer.add(data.buffer as ArrayBuffer);
  return { name: tensor.name, type, dims, data };
}

function fromWire(t: WireTensor): Tensor {
  const datatype = fromOrtType(t.type);
  if (!datatype) {
    throw new AppError('INFERENCE_FAILED', `output '${t.name}' has unsupported element type ${t.type}`);
  }
  return { name: t.name, datatype, shape: t.dims, data: t.data };
}

export class ModelInstancePool {
  readonly modelPath: string;
  readonly label: string;
  readonly #logger: RuntimeLogger;
  readonly #workerUrl: URL;
  readonly #instances: Instance[];
  readonly #queue: Job[] = [];
  #io: ModelIO = { inputs: [], outputs: [] };
  #nextId = 1;
  #closing = false;
  #idleWaiters: Array<() => void> = [];
  #stats = { completedRuns: 0, failedRuns: 0, crashes: 0, restarts: 0 };

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
    this.#logger = options.logger;
    this.#workerUrl = options.workerUrl ?? DEFAULT_WORKER_URL;
    this.#instances = perInstance.map((o, i) => new Instance(i, o));
  }

  /**
   * Starts `count` workers, each loading the model. Rejects with MODEL_LOAD_FAILED naming the file when any
   * session cannot be created (corrupt file, unsupported op...); workers already started are terminated.
   */
  static async create(options: ModelInstancePoolOptions): Promise<ModelInstancePool> {
    const pool = new ModelInstancePool(options);
    const results = await Promise.allSettled(pool.#instances.map((i) => pool.#start(i)));
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
    return { instances: this.#instances.length, live, busy, queued: this.#queue.length, ...this.#stats };
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
    for (let q = 0; q < this.#queue.length; ) {
      const job = this.#queue[q]!;
      const instance =
        job.target === undefined
          ? this.#instances.find((i) => i.state === 'idle')
          : this.#instances[job.target]?.state === 'idle'
            ? this.#instances[job.target]
            : undefined;
      if (!instance) {
        if (job.target === undefined) break; // FIFO for untargeted runs
        q++;
        continue;
      }
      this.#queue.splice(q, 1);
      this.#dispatch(instance, job);
    }
    this.#checkIdle();
  }

  #dispatch(instance: Instance, job: Job): void {
    const worker = instance.worker!;
    instance.state = 'busy';
    instance.job = job;
    const message = { type: 'run', id: job.id, inputs: job.inputs, outputNames: job.outputNames };
    try {
      worker.postMessage(message, job.transfer);
    } catch {
      // A buffer that cannot be transferred (e.g. marked untransferable): copy instead.
      try {
        worker.postMessage(message);
      } catch (err) {
        instance.state = 'idle';
        instance.job = undefined;
        this.#stats.failedRuns++;
        job.reject(new AppError('INFERENCE_FAILED', `cannot send inputs to the model: ${messageOf(err)}`));
        queueMicrotask(() => this.#pump());
      }
    }
    // The job keeps no reference to the (transferred) data once posted.
    job.inputs = [];
    job.transfer = [];
  }

  #start(instance: Instance): Promise<LoadedMessage> {
    const worker = new Worker(this.#workerUrl, {
      name: `onnx ${this.label} #${instance.index}`,
      workerData: { nice: instance.options.threadNice ?? 0 },
    });
    instance.worker = worker;
    instance.state = 'starting';
    instance.lastError = undefined;
    let onExit: () => void = () => {};
    instance.exited = new Promise<void>((resolve) => {
      onExit = resolve;
    });
    const loaded = new Promise<LoadedMessage>((resolve, reject) => {
      instance.loadWaiter = { resolve, reject };
    });
    worker.on('message', (msg: WorkerMessage) => this.#onMessage(instance, worker, msg));
    worker.on('error', (err) => {
      instance.lastError = messageOf(err);
    });
    worker.on('messageerror', (err) => {
      instance.lastError = `message could not be deserialised: ${messageOf(err)}`;
    });
    worker.on('exit', (code) => {
      onExit();
      if (instance.worker === worker) this.#onExit(instance, code);
    });
    worker.postMessage({
      type: 'load',
      modelPath: this.modelPath,
      attempts: sessionAttempts(instance.options),
    });
    return loaded.then((m) => {
      instance.provider = m.provider;
      if (m.fallbackReason !== null && instance.options.provider === 'cuda') {
        reportCudaFallback(this.#logger, {
          reason: m.fallbackReason,
          deviceId: instance.options.deviceId,
          modelPath: this.modelPath,
        });
      }
      return m;
    });
  }

  #onMessage(instance: Instance, worker: Worker, msg: WorkerMessage): void {
    if (instance.worker !== worker) return;
    switch (msg.type) {
      case 'loaded': {
        const waiter = instance.loadWaiter;
        instance.loadWaiter = undefined;
        if (instance.state === 'closing') {
          waiter?.reject(new Error('model pool closed while the instance was loading'));
          return;
        }
        instance.state = 'idle';
        waiter?.resolve(msg);
        this.#pump();
        return;
      }
      case 'load-error': {
        const waiter = instance.loadWaiter;
        instance.loadWaiter = undefined;
        instance.state = 'closing';
        void worker.terminate();
        waiter?.reject(new Error(msg.message));
        return;
      }
      case 'result':
      case 'run-error': {
        const job = instance.job;
        instance.job = undefined;
        if (instance.state === 'busy') instance.state = 'idle';
        if (job && job.id === msg.id) {
          if (msg.type === 'result') {
            try {
              const outputs = msg.outputs.map(fromWire);
              this.#stats.completedRuns++;
              job.resolve(outputs);
            } catch (err) {
              this.#stats.failedRuns++;
              job.reject(err as Error);
            }
          } else {
            this.#stats.failedRuns++;
            job.reject(runFailureError(this.label, msg.message, msg.phase ?? 'outputs'));
          }
        }
        this.#pump();
        return;
      }
    }
  }

  #onExit(instance: Instance, code: number): void {
    const reason = instance.lastError ?? `exit code ${code}`;
    const wasClosing = instance.state === 'closing' || instance.state === 'closed';
    instance.worker = undefined;
    if (instance.loadWaiter) {
      const waiter = instance.loadWaiter;
      instance.loadWaiter = undefined;
      instance.state = 'dead';
      waiter.reject(new Error(`model worker exited during load (${reason})`));
      return;
    }
    if (wasClosing) {
      instance.state = 'closed';
      return;
    }
    // A crash: fail the run it had, then start a fresh worker.
    instance.state = 'dead';
    this.#stats.crashes++;
    const job = instance.job;
    instance.job = undefined;
    this.#logger.warn(
      { model: this.label, instance: instance.index, reason, inFlight: job !== undefined },
      `model instance crashed (${reason}); restarting it`,
    );
    if (job) {
      this.#stats.failedRuns++;
      job.reject(
        new AppError('INFERENCE_FAILED', `model ${this.label} instance crashed during inference (${reason})`),
      );
    }
    this.#rejectTargeted(instance.index, reason);
    if (this.#closing) {
      instance.state = 'closed';
      this.#checkIdle();
      return;
    }
    this.#respawn(instance);
  }

  #respawn(instance: Instance): void {
    this.#start(instance).then(
      () => {
        instance.respawnFailures = 0;
        this.#stats.restarts++;
        this.#logger.info({ model: this.label, instance: instance.index }, 'model instance restarted');
        if (this.#closing) void this.#closeInstance(instance);
      },
      (err: unknown) => {
        instance.state = 'dead';
        instance.respawnFailures++;
        const delay = Math.min(MAX_RESPAWN_DELAY_MS, 500 * 2 ** instance.respawnFailures);
        this.#logger.warn(
          { model: this.label, instance: instance.index, err: messageOf(err), retryInMs: delay },
          `model instance could not be restarted: ${messageOf(err)}`,
        );
        if (
          !this.#instances.some((i) => i.state === 'idle' || i.state === 'busy' || i.state === 'starting')
        ) {
          this.#rejectQueued(`model ${this.label} has no running instance: ${messageOf(err)}`);
        }
        if (this.#closing) {
          instance.state = 'closed';
          this.#checkIdle();
          return;
        }
        instance.respawnTimer = setTimeout(() => {
          instance.respawnTimer = undefined;
          if (!this.#closing) this.#respawn(instance);
        }, delay);
      },
    );
  }

  #rejectTargeted(index: number, reason: string): void {
    for (let q = this.#queue.length - 1; q >= 0; q--) {
      const job = this.#queue[q]!;
      if (job.target !== index) continue;
      this.#queue.splice(q, 1);
      this.#stats.failedRuns++;
      job.reject(
        new AppError('INFERENCE_FAILED', `model ${this.label} instance ${index} crashed (${reason})`),
      );
    }
  }

  #rejectQueued(message: string): void {
    const jobs = this.#queue.splice(0);
    for (const job of jobs) {
      this.#stats.failedRuns++;
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

  async #closeInstance(instance: Instance): Promise<void> {
    if (instance.respawnTimer) {
      clearTimeout(instance.respawnTimer);
      instance.respawnTimer = undefined;
    }
    const worker = instance.worker;
    if (!worker) {
      instance.state = 'closed';
      return;
    }
    const wasStarting = instance.state === 'starting';
    instance.state = 'closing';
    if (wasStarting) {
      await worker.terminate();
    } else {
      worker.postMessage({ type: 'close' });
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await instance.exited;
      clearTimeout(timer);
    }
    await instance.exited;
  }

  async #terminateAll(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#instances.map((i) => this.#closeInstance(i)));
    this.#rejectQueued(`model ${this.label} was closed`);
  }
}
