import { AppError } from '../../shared/errors/index.ts';
import type { RunPhase } from './wire.ts';

/**
 * Out of memory, or the GPU stack failing: the origin's trouble, whatever the input. Matched on onnxruntime's
 * own wording (BFC arena, std::bad_alloc, CUDA/cuDNN/cuBLAS status lines), since the Node binding passes only the
 * message, not the status code.
 */
const RESOURCE_FAILURE =
  /failed to allocate|available memory of|bad_alloc|out of memory|\bcuda\b|cuda failure|cudnn|cublas|cufft|curand|tensorrt/i;

/**
 * Whether a failed run is the input's fault. Requests reach the session only after validation against the
 * model's signature, and a model is ready only after warm-up ran it, so a kernel that then fails inside
 * `session.run` (a convolution on a 0×0 image, a broadcast between sizes the graph cannot reconcile, an index
 * out of range) failed because of the values or free dimensions this request chose. Answering 500 there would
 * blame the origin: the edge's circuit breakers count 500s, so one tenant repeating a bad input could open every
 * origin's breaker for everybody. Failures outside `session.run`, and resource failures inside it, stay 500.
 */
export function isInputRejection(message: string, phase: RunPhase): boolean {
  return phase === 'run' && !RESOURCE_FAILURE.test(message);
}

/** Drops onnxruntime's build paths and C++ signatures, which tell a client nothing. */
export function cleanOrtMessage(message: string): string {
  return message
    .replace(/\s*\/\S*onnxruntime\S*\.(?:h|cc|cpp|cu):\d+\s*/g, ' ')
    .replace(/(?:^|\s)(?:[\w:<>*&]+\s)?onnxruntime::[\w:~<>]+\([^)]*\)\s*(?:const\s*)?/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The error a request sees when its run failed in a worker. */
export function runFailureError(label: string, message: string, phase: RunPhase): AppError {
  const detail = cleanOrtMessage(message);
  if (isInputRejection(message, phase)) {
    return new AppError(
      'INVALID_INPUT',
      `model ${label} cannot run on this input (check its shape and values against what the model accepts): ${detail}`,
    );
  }
  return new AppError('INFERENCE_FAILED', `model ${label} failed: ${detail}`);
}
