import type { TensorData } from '../protocol/tensor.ts';
import type { ExecutionProviderName, SessionAttempt } from './execution-provider.ts';

/**
 * Messages between ModelInstancePool and session-worker.mjs. All are plain objects; tensor data travels in
 * transfer lists, never as JSON. The worker reads these types through JSDoc, so both sides of the thread
 * boundary are checked against this one declaration.
 *
 *   → load                    ← loaded | load-error
 *   → run                     ← result | run-error
 *   → close                   the worker releases its session; the thread then exits with code 0.
 */

/** A tensor as it crosses the thread boundary: onnxruntime's type name and dims. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data: TensorData;
}

/** A model input or output as the session declares it; `type` is null for sequences and maps. */
export interface WireMetadata {
  name: string;
  isTensor: boolean;
  type: string | null;
  shape: Array<number | string>;
}

/** Where in the worker a run failed: building the feeds, inside `session.run`, or reading its outputs. */
export type RunPhase = 'feeds' | 'run' | 'outputs';

/** What the pool sends a session worker. */
export type PoolMessage =
  | { type: 'load'; modelPath: string; attempts: SessionAttempt[] }
  | { type: 'run'; id: number; inputs: WireTensor[]; outputNames: string[] }
  | { type: 'close' };

/** What a session worker answers. */
export type WorkerMessage =
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

export type LoadedMessage = Extract<WorkerMessage, { type: 'loaded' }>;

/** `workerData` of a session worker. */
export interface SessionWorkerData {
  /** Nice value of the session's thread (see ExecutionOptions.threadNice). */
  nice: number;
}
