import type { Clock } from '../../shared/clock.ts';
import { isAppError } from '../../shared/errors/index.ts';
import { Batcher } from '../batching/batcher.ts';
import { type BatchInfo, type BatchItem, RequestFailure } from '../batching/execute-batch.ts';
import type { EnqueueRequest } from '../batching/pending-request.ts';
import type { ModelLabels, OriginMetrics } from '../observability/metrics.ts';
import type { SpanHandle } from '../observability/tracing.ts';
import { concatBatch, splitBatch } from '../protocol/batch-tensors.ts';
import type { DecodedInferRequest } from '../protocol/decode-request.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { ModelDefinition } from '../repository/definition.ts';
import type { ModelInstancePool } from '../runtime/instance-pool.ts';
import { validateAgainstModel } from './validate-request.ts';

/** The off-thread runner of one model version: its instance pool (tests substitute a counting one). */
type Runner = Pick<ModelInstancePool, 'run'>;

interface Payload {
  inputs: Tensor[];
  outputNames: string[];
}

export interface InferOptions {
  priority?: number;
  timeoutMicros?: number;
  signal?: AbortSignal;
  /** The request's span: when it records, the queue wait and the compute become its child spans. */
  span?: SpanHandle;
}

export interface ServedModelDeps {
  clock: Clock;
  metrics?: OriginMetrics;
  stageBatches?: number;
}

/** Runs each request of a failed batch on its own, so a request the model rejects fails alone. */
async function runAlone(
  runner: Runner,
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
 * One loaded model version as served: validation against its definition, its dynamic batcher, and the runner.
 * Lifecycle follows the batcher: `close()` stops taking requests and resolves once queued and in-flight work
 * has finished, so an unload or a drain never drops a request that was accepted.
 */
export class ServedModel {
  readonly definition: ModelDefinition;
  /** Metric labels; also the name and version a response reports. */
  readonly labels: ModelLabels;
  readonly #batcher: Batcher<Payload, Tensor[]>;

  /** The repository's per-version hook: every loaded version gets its own batcher in front of its pool. */
  static factory(deps: ServedModelDeps) {
    return ({ definition, pool }: { definition: ModelDefinition; pool: Runner }): ServedModel =>
      new ServedModel(definition, pool, deps);
  }

  constructor(definition: ModelDefinition, runner: Runner, deps: ServedModelDeps) {
    this.definition = definition;
    const labels = { model: definition.name, version: String(definition.version) };
    this.labels = labels;
    const metrics = deps.metrics;
    this.#batcher = new Batcher<Payload, Tensor[]>({
      name: definition.name,
      // Without a dynamic_batching block this is the no-merging config (see buildModelDefinition): every request
      // runs alone, as in Triton, while keeping the bounded queue, timeouts and the instance-count concurrency.
      config: definition.batching,
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
        onBatch(info: BatchInfo) {
          metrics.recordBatch({ ...labels, batchSize: info.size, computeSeconds: info.computeMicros / 1e6 });
          for (const q of info.queueMicros) metrics.recordQueue(labels, q / 1e6);
        },
      },
    });
  }

  /** Validates against the model's definition, queues, and resolves with the requested outputs. */
  async infer(request: DecodedInferRequest, options: InferOptions = {}): Promise<Tensor[]> {
    const { batchSize, batchKey } = validateAgainstModel(request, this.definition);
    const outputNames = request.outputs?.length
      ? request.outputs.map((o) => o.name)
      : this.definition.outputs.map((o) => o.name);
    const enqueue = {
      payload: { inputs: request.inputs, outputNames },
      batchKey,
      size: batchSize,
      priority: options.priority,
      timeoutMicros: this.definition.allowTimeoutOverride ? options.timeoutMicros : undefined,
      signal: options.signal,
    };
    if (!options.span?.recording) return this.#batcher.enqueue(enqueue);
    return this.#traced(enqueue, options.span);
  }

  /** `queue wait` from enqueue to dispatch, then `compute` until the batch it ran in settled. */
  async #traced(enqueue: EnqueueRequest<Payload>, parent: SpanHandle): Promise<Tensor[]> {
    const attributes = { 'aiserve.model': this.labels.model, 'aiserve.model_version': this.labels.version };
    const queued = parent.child('queue wait', { ...attributes, 'aiserve.batch.request_items': enqueue.size });
    let compute: SpanHandle | undefined;
    try {
      return await this.#batcher.enqueue({
        ...enqueue,
        onDispatch: (batch) => {
          queued.end();
          compute = parent.child('compute', {
            ...attributes,
            'aiserve.batch.items': batch.items,
            'aiserve.batch.requests': batch.requests,
          });
        },
      });
    } catch (err) {
      // Refused or expired in the queue (no compute span), or the batch failed.
      (compute ?? queued).recordError(err);
      throw err;
    } finally {
      if (compute) compute.end();
      else queued.end();
    }
  }

  /** Requests queued or running: the queue depth the metrics and the fleet heartbeat report. */
  pending(): number {
    const s = this.#batcher.stats();
    return s.queued + s.inFlightBatches;
  }

  close(): Promise<void> {
    return this.#batcher.close();
  }
}
