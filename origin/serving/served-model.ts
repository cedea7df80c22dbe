import type { Clock } from '../../shared/clock.ts';
import { AppError, isAppError } from '../../shared/errors/index.ts';
import {
  Batcher,
  type BatchItem,
  type BatchingConfig,
  type BatchInfo as ExecutedBatch,
  RequestFailure,
} from '../batching/index.ts';
import type { ModelLabels, OriginMetrics } from '../observability/metrics.ts';
import { concatBatch, splitBatch } from '../protocol/batch-tensors.ts';
import type { Tensor, TensorSpec } from '../protocol/tensor.ts';
import type { DecodedInferRequest } from '../protocol/types.ts';
import { validateAgainstModel } from '../protocol/validate.ts';

/** What the server needs of a loaded model version; the repository provides it. */
export interface ModelSignatureView {
  name: string;
  version: string;
  maxBatchSize: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  batching: BatchingConfig;
  dynamicBatchingEnabled: boolean;
  /** Triton `allow_timeout_override`: whether a request's `timeout` parameter is honoured. */
  allowTimeoutOverride: boolean;
}

/** The off-thread runner of one model version (a pool of onnxruntime sessions in worker threads). */
export interface TensorRunner {
  run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]>;
}

interface Payload {
  inputs: Tensor[];
  outputNames: string[];
}

export interface InferOptions {
  priority?: number;
  timeoutMicros?: number;
  signal?: AbortSignal;
}

/** Runs each request of a failed batch on its own, so a request the model rejects fails alone. */
async function runAlone(
  runner: TensorRunner,
  batch: Array<BatchItem<Payload>>,
): Promise<Array<Tensor[] | RequestFailure>> {
  return Promise.all(
    batch.map((item) =>
      runner.run(item.payload.inputs, item.payload.outputNames).catch((err: unknown) => {
        if (isAppError(err)) return new RequestFailure(err);
        throw err;
      }),
    ),
  );
}

/**
 * One loaded model version as served: validation against its signature, its dynamic batcher, and the runner.
 * Lifecycle follows the batcher: `close()` stops taking requests and resolves once queued and in-flight work
 * has finished, so an unload or a drain never drops a request that was accepted.
 */
export class ServedModel {
  readonly signature: ModelSignatureView;
  readonly #batcher: Batcher<Payload, Tensor[]>;
  readonly #labels: ModelLabels;

  constructor(
    signature: ModelSignatureView,
    runner: TensorRunner,
    deps: { clock: Clock; metrics?: OriginMetrics; stageBatches?: number },
  ) {
    this.signature = signature;
    this.#labels = { model: signature.name, version: signature.version };
    const labels = this.#labels;
    const metrics = deps.metrics;
    // Without a dynamic_batching block Triton runs every request alone; a batcher with maxBatchSize 0 does that
    // while keeping the bounded queue, timeouts and the instance-count concurrency.
    const config: BatchingConfig = signature.dynamicBatchingEnabled
      ? signature.batching
      : { ...signature.batching, maxBatchSize: 0, preferredBatchSizes: [], maxQueueDelayMicros: 0 };
    this.#batcher = new Batcher<Payload, Tensor[]>({
      name: signature.name,
      config,
      clock: deps.clock,
      // The pool queues a staged batch behind the running one and starts it the moment the instance is free.
      stageBatches: deps.stageBatches ?? 0,
      execute: async (batch) => {
        const first = batch[0]!;
        if (batch.length === 1) return [await runner.run(first.payload.inputs, first.payload.outputNames)];
        // concatBatch copies: each request keeps its own inputs for the split below.
        const merged = concatBatch(batch.map((item) => item.payload.inputs));
        let outputs: Tensor[];
        try {
          outputs = await runner.run(merged, first.payload.outputNames);
        } catch (err) {
          if (!(isAppError(err) && err.code === 'INVALID_INPUT')) throw err;
          // The model could not run on one request's values; the others in the batch must not fail with it.
          return runAlone(runner, batch);
        }
        return splitBatch(
          outputs,
          batch.map((item) => item.size),
        );
      },
      observer: metrics && {
        onBatch(info: ExecutedBatch) {
          metrics.recordBatch({ ...labels, batchSize: info.size, computeSeconds: info.computeMicros / 1e6 });
          for (const q of info.queueMicros) metrics.recordQueue(labels, q / 1e6);
        },
      },
    });
  }

  get labels(): ModelLabels {
    return this.#labels;
  }

  /** Validates against the model's signature, queues, and resolves with the requested outputs. */
  async infer(request: DecodedInferRequest, options: InferOptions = {}): Promise<Tensor[]> {
    const { batchSize, batchKey } = validateAgainstModel(request, this.signature);
    const outputNames = request.outputs?.length
      ? request.outputs.map((o) => o.name)
      : this.signature.outputs.map((o) => o.name);
    return this.#batcher.enqueue({
      payload: { inputs: request.inputs, outputNames },
      batchKey,
      size: batchSize,
      priority: options.priority,
      timeoutMicros: this.signature.allowTimeoutOverride ? options.timeoutMicros : undefined,
      signal: options.signal,
    });
  }

  pending(): number {
    const s = this.#batcher.stats();
    return s.queued + s.inFlightBatches;
  }

  stats() {
    return this.#batcher.stats();
  }

  close(): Promise<void> {
    return this.#batcher.close();
  }

  destroy(reason: unknown): void {
    this.#batcher.destroy(reason);
  }
}

/** Reads Triton's `priority` and `timeout` (microseconds) request parameters, rejecting wrong types. */
export function schedulingParameters(parameters: Record<string, unknown>): {
  priority?: number;
  timeoutMicros?: number;
} {
  const out: { priority?: number; timeoutMicros?: number } = {};
  for (const [key, field] of [
    ['priority', 'priority'],
    ['timeout', 'timeoutMicros'],
  ] as const) {
    const value = parameters[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new AppError(
        'INVALID_INPUT',
        `parameter '${key}' must be a non-negative integer${key === 'timeout' ? ' (microseconds)' : ''}, got ${JSON.stringify(value)}`,
      );
    }
    out[field] = value;
  }
  return out;
}
