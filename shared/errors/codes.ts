/**
 * Every error the platform can return, with its HTTP status. Callers match on the code, never on the message.
 * Whether the edge retries an origin's answer is the router's decision, from the attempt's status and code
 * (`workers/routing/retry.ts`), not a property of the code.
 */
export const ERROR_CODES = {
  INVALID_JSON: 400,
  INVALID_REQUEST: 400,
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // The request never finished arriving (Node's request timeout).
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  INFERENCE_FAILED: 500,
  MODEL_LOAD_FAILED: 400,
  UPSTREAM_ERROR: 502,
  MODEL_NOT_READY: 503,
  QUEUE_FULL: 503,
  DRAINING: 503,
  UNAVAILABLE: 503,
  // No origin is healthy for the model (all down, or every breaker open).
  NO_HEALTHY_ORIGIN: 503,
  // A dependency (database, Redis) is down; the message names which.
  DEPENDENCY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}
