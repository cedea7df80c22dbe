import { Worker } from 'node:worker_threads';
import { jsonParseError } from '../json-body.ts';
import { MAX_RANK } from '../parse-shape.ts';
import type { JsonParseReply, JsonParseRequest, JsonParseWorkerData, PreparsedJsonBody } from './wire.ts';

export interface JsonParsePoolOptions {
  /** Worker threads, >= 1; started on first use. */
  threads: number;
  /** Worker entry script; tests substitute one. Default: worker.mjs beside this module. */
  workerUrl?: URL;
  /** Nice value of the worker threads (see WORKER_THREAD_NICE); default 0. */
  nice?: number;
  /** Called once per worker that dies unexpectedly (its jobs are failed; the next parse starts a new one). */
  onCrash?: (error: Error) => void;
}

interface Pending {
  resolve: (body: PreparsedJsonBody) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | null;
  pending: Map<number, Pending>;
}

const DEFAULT_WORKER_URL = new URL('./worker.mjs', import.meta.url);

/** Thrown when a worker died with the job: the caller can still parse on the main thread. */
export class JsonParseWorkerError extends Error {}

/**
 * Parses large JSON inference bodies in worker threads, so the event loop keeps serving health checks, timers
 * and small requests while a 300 KB tensor body is parsed (about 6 ms of one core on the benchmark machine).
 * Jobs go to the worker with the fewest in flight. A malformed body rejects with the same AppError the
 * main-thread parse raises.
 */
export class JsonParsePool {
  readonly #options: JsonParsePoolOptions;
  readonly #slots: Slot[];
  #nextId = 1;
  #closed = false;

  constructor(options: JsonParsePoolOptions) {
    if (!(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new RangeError(`threads must be an integer >= 1, got ${options.threads}`);
    }
    this.#options = options;
    this.#slots = Array.from({ length: options.threads }, () => ({ worker: null, pending: new Map() }));
  }

  /** Jobs sent to workers and not answered yet. */
  get inFlight(): number {
    let n = 0;
    for (const slot of this.#slots) n += slot.pending.size;
    return n;
  }

  /**
   * Parses `body` (UTF-8 JSON). The worker gets a copy (a fraction of the parse's cost), so `body` stays usable:
   * if a worker dies with the job (JsonParseWorkerError) the caller can still parse it itself.
   */
  parse(body: Uint8Array): Promise<PreparsedJsonBody> {
    if (this.#closed) return Promise.reject(new JsonParseWorkerError('JSON parse pool is closed'));
    let slot = this.#slots[0]!;
    for (const s of this.#slots) if (s.pending.size < slot.pending.size) slot = s;
    const worker = this.#workerOf(slot);
    const id = this.#nextId++;
    const bytes = body.slice().buffer;
    return new Promise<PreparsedJsonBody>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes } satisfies JsonParseRequest, [bytes]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = null;
        this.#failAll(slot, new JsonParseWorkerError('JSON parse pool closed'));
        if (worker) await worker.terminate();
      }),
    );
  }

  #workerOf(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    const worker = new Worker(this.#options.workerUrl ?? DEFAULT_WORKER_URL, {
      name: 'json parse',
      workerData: { nice: this.#options.nice ?? 0, maxRank: MAX_RANK } satisfies JsonParseWorkerData,
    });
    // Idle parse workers must not keep a stopping process alive.
    worker.unref();
    worker.on('message', (reply: JsonParseReply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if ('error' in reply) pending.reject(jsonParseError(reply.error.kind, reply.error.message));
      else pending.resolve({ root: reply.root, flats: reply.flats });
    });
    const dead = (err: Error) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      this.#failAll(slot, new JsonParseWorkerError(`JSON parse worker failed: ${err.message}`));
      if (!this.#closed) this.#options.onCrash?.(err);
    };
    worker.on('error', dead);
    worker.on('exit', (code) => dead(new Error(`exited with code ${code}`)));
    slot.worker = worker;
    return worker;
  }

  #failAll(slot: Slot, err: Error): void {
    for (const pending of slot.pending.values()) pending.reject(err);
    slot.pending.clear();
  }
}
