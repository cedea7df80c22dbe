import { type ErrorCode, statusOf } from './codes.ts';

export interface AppErrorOptions {
  /** Seconds a client should wait before retrying; rendered as `Retry-After`. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** The one error type that crosses module boundaries; rendered to HTTP only by `toErrorResponse`. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return statusOf(this.code);
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
