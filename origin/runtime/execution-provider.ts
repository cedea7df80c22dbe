import type { InferenceSession } from 'onnxruntime-node';
import { defaultIntraOpThreads, type OriginConfig } from '../../shared/config/origin.ts';

/**
 * Execution provider selection. CUDA is tried first when requested; a session that cannot be created with
 * CUDA (no GPU, no CUDA EP binaries — onnxruntime-node installed with `onnxruntime-node-install=skip`) falls
 * back to CPU, and the process logs ONE warn line about it, however many sessions fall back. The attempt
 * itself happens in the session worker (see session-worker.mjs), which reports the provider actually used.
 */

export type ExecutionProviderName = 'cpu' | 'cuda';
type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';
/** Triton's instance_group kind. */
export type InstanceKind = 'KIND_CPU' | 'KIND_GPU' | 'KIND_AUTO';

export interface ExecutionOptions {
  provider: ExecutionProviderName;
  /** CUDA device ordinal; ignored on CPU. */
  deviceId: number;
  intraOpThreads: number;
  /** False when INTRA_OP_THREADS was not set: the default is then shared among a model's CPU instances. */
  intraOpThreadsExplicit?: boolean;
  interOpThreads: number;
  graphOptimization: GraphOptimization;
  /**
   * Nice value (0–19) of the session's thread and the threads onnxruntime starts from it: higher yields the CPU
   * to the HTTP and batching thread when cores are oversubscribed. Absent: 0 (the process's own).
   */
  threadNice?: number;
}

/** pino-compatible; a pino Logger fits. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Session creation attempts, in order. Plain data: it is posted to the worker. */
export interface SessionAttempt {
  provider: ExecutionProviderName;
  options: InferenceSession.SessionOptions;
}

export function executionOptionsFromConfig(
  config: Pick<
    OriginConfig,
    | 'EXECUTION_PROVIDER'
    | 'CUDA_DEVICE_ID'
    | 'INTRA_OP_THREADS'
    | 'INTER_OP_THREADS'
    | 'GRAPH_OPTIMIZATION'
    | 'WORKER_THREAD_NICE'
  >,
): ExecutionOptions {
  return {
    provider: config.EXECUTION_PROVIDER,
    deviceId: config.CUDA_DEVICE_ID,
    intraOpThreads: config.INTRA_OP_THREADS ?? defaultIntraOpThreads(),
    intraOpThreadsExplicit: config.INTRA_OP_THREADS !== undefined,
    interOpThreads: config.INTER_OP_THREADS,
    graphOptimization: config.GRAPH_OPTIMIZATION,
    threadNice: config.WORKER_THREAD_NICE,
  };
}

/**
 * Applies an instance_group kind: KIND_CPU forces CPU; KIND_GPU asks for CUDA (on `gpu`, else the configured
 * device) whatever the configured provider, still falling back to CPU when CUDA cannot load; KIND_AUTO keeps the
 * configured provider.
 */
export function optionsForInstanceKind(
  options: ExecutionOptions,
  kind: InstanceKind,
  gpu?: number,
): ExecutionOptions {
  switch (kind) {
    case 'KIND_CPU':
      return { ...options, provider: 'cpu' };
    case 'KIND_GPU':
      return { ...options, provider: 'cuda', deviceId: gpu ?? options.deviceId };
    case 'KIND_AUTO':
      return gpu === undefined ? { ...options } : { ...options, deviceId: gpu };
  }
}

function baseSessionOptions(options: ExecutionOptions): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    graphOptimizationLevel: options.graphOptimization,
    executionMode: 'sequential',
    // Fatal only: onnxruntime prints every failed kernel to stderr itself, so any client able to send an input
    // the model cannot run on could flood the origin's output. Each failure reaches the request as an error
    // (run-failure.ts) and the origin's own JSON log instead.
    logSeverityLevel: 4,
  };
}

/** The sessions to try, in order: CUDA then CPU when CUDA is requested, else CPU alone. */
export function sessionAttempts(options: ExecutionOptions): SessionAttempt[] {
  const cpu: SessionAttempt = {
    provider: 'cpu',
    options: { ...baseSessionOptions(options), executionProviders: ['cpu'] },
  };
  if (options.provider !== 'cuda') return [cpu];
  return [
    {
      provider: 'cuda',
      options: {
        ...baseSessionOptions(options),
        executionProviders: [{ name: 'cuda', deviceId: options.deviceId }],
      },
    },
    cpu,
  ];
}

let fallbackWarned = false;

/**
 * Called when a session asked for CUDA but runs on CPU. Logs one warn line per process (later fallbacks log at
 * info so they are still traceable without repeating the warning).
 */
export function reportCudaFallback(
  logger: RuntimeLogger,
  details: { reason: string; deviceId: number; modelPath: string },
): void {
  const reason = details.reason.trim().split('\n')[0] ?? details.reason;
  if (!fallbackWarned) {
    fallbackWarned = true;
    logger.warn(
      { executionProvider: 'cpu', requested: 'cuda', deviceId: details.deviceId, reason },
      `CUDA execution provider unavailable (${reason}); falling back to CPU`,
    );
    return;
  }
  logger.info(
    { executionProvider: 'cpu', requested: 'cuda', deviceId: details.deviceId, modelPath: details.modelPath },
    'CUDA unavailable: model instance runs on CPU',
  );
}

/** Tests only: forget that the fallback warning was logged. */
export function resetCudaFallbackWarning(): void {
  fallbackWarned = false;
}
