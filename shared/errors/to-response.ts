import { AppError, isAppError } from './app-error.ts';

/**
 * The single JSON error body. `error` is the Open Inference Protocol's field (clients of Triton/KServe read
 * it); `code` and `requestId` are ours, for programmatic matching and support.
 */
export interface ErrorBody {
  error: string;
  code: string;
  requestId?: string;
}

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  return new AppError('INTERNAL', 'internal error', { cause: err });
}

export function errorBody(err: AppError, requestId?: string): ErrorBody {
  const body: ErrorBody = { error: err.message, code: err.code };
  if (requestId) body.requestId = requestId;
  return body;
}

/** Renders any thrown value as a Response; unknown errors never leak their message. */
export function toErrorResponse(err: unknown, requestId?: string): Response {
  const appError = toAppError(err);
  const headers = new Headers({ 'content-type': 'application/json' });
  if (appError.retryAfterSeconds !== undefined) {
    headers.set('retry-after', String(Math.max(1, Math.ceil(appError.retryAfterSeconds))));
  }
  if (requestId) headers.set('x-request-id', requestId);
  return new Response(JSON.stringify(errorBody(appError, requestId)), { status: appError.status, headers });
}
