import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { AppError } from '../../../shared/errors/index.ts';

const DECIMAL = /^\d+$/;

/**
 * Refuses bodies above `maxBytes` with 413 JSON, by `Content-Length` when present and by counting the stream
 * otherwise (chunked uploads cannot slip past). Mounted per route group with its own limit.
 *
 * A plain `Content-Length` without `Transfer-Encoding` is decided from the headers alone: the runtime enforces
 * that the body is exactly that long, and not touching `request.body` spares Node's adapter from building a
 * web stream for every request (a visible cost on the cache-hit path).
 *
 * @example
 * app.use('/admin/v1/*', bodyLimit({ maxBytes: 64 * 1024 }));
 */
export function bodyLimit(options: { maxBytes: number }): MiddlewareHandler {
  const tooLarge = () =>
    new AppError('PAYLOAD_TOO_LARGE', `request body exceeds the limit of ${options.maxBytes} bytes`);
  const streaming = honoBodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function bodyLimitMiddleware(c, next) {
    const length = c.req.header('content-length');
    if (length !== undefined && DECIMAL.test(length) && c.req.header('transfer-encoding') === undefined) {
      if (Number(length) > options.maxBytes) throw tooLarge();
      await next();
      return;
    }
    return streaming(c, next);
  };
}
