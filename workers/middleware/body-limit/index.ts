import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { AppError } from '../../../shared/errors/index.ts';
import type { AppEnv } from '../../env.ts';

/**
 * Refuses bodies above `maxBytes` with 413 JSON, by `Content-Length` when present and by counting the stream
 * otherwise (chunked uploads cannot slip past). Mounted per route group with its own limit.
 *
 * @example
 * app.use('/admin/v1/*', bodyLimit({ maxBytes: 64 * 1024 }));
 */
export function bodyLimit(options: { maxBytes: number }): MiddlewareHandler<AppEnv> {
  return honoBodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw new AppError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${options.maxBytes} bytes`);
    },
  });
}
