/**
 * Every error the platform can return, with its HTTP status and whether a caller (the edge router, a client
 * with a retry policy) may try again. Callers match on the code, never on the message.
 */
export const ERROR_CODES = {
  INVALID_JSON: { status: 400, retryable: false },
  INVALID_REQUEST: { status: 400, retryable: false },
  INVALID_INPUT: { status: 400, retryable: false },
  UNAUTHENTICATED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  MODEL_NOT_FOUND: { status: 404, retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  // The request never finished arriving (Node's request timeout).
  REQUEST_TIMEOUT: { status: 408, retryable: true },
  CONFLICT: { status: 409, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  HEADERS_TOO_LARGE: { status: 431, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  INTERNAL: { status: 500, retryable: false },
  INFERENCE_FAILED: { status: 500, retryable: false },
  MODEL_LOAD_FAILED: { status: 400, retryable: false },
  UPSTREAM_ERROR: { status: 502, retryable: true },
  MODEL_NOT_READY: { status: 503, retryable: true },
  QUEUE_FULL: { status: 503, retryable: true },
  DRAINING: { status: 503, retryable: true },
  UNAVAILABLE: { status: 503, retryable: true },
  // No origin is healthy for the model (all down, or every breaker open).
  NO_HEALTHY_ORIGIN: { status: 503, retryable: true },
  // A dependency (database, Redis) is down; the message names which.
  DEPENDENCY_UNAVAILABLE: { status: 503, retryable: true },
  DEADLINE_EXCEEDED: { status: 504, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retryable;
}
