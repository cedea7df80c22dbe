export { AppError, isAppError } from './app-error.ts';
export type { ErrorCode } from './codes.ts';
export { toAppError, toErrorResponse } from './to-response.ts';
