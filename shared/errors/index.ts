export { AppError, type AppErrorOptions, isAppError } from './app-error.ts';
export { ERROR_CODES, type ErrorCode, statusOf } from './codes.ts';
export { type ErrorBody, errorBody, toAppError, toErrorResponse } from './to-response.ts';
