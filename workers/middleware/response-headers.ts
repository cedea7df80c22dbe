import type { Context } from 'hono';

/**
 * Headers of the response as they can be edited. A `Response` straight from `fetch` (or the Cache API) has
 * immutable headers in workerd; it is re-wrapped once (the body is streamed, not copied).
 */
export function responseHeaders(c: Context): Headers {
  try {
    c.res.headers.set('x-edge', '1');
    c.res.headers.delete('x-edge');
  } catch {
    c.res = new Response(c.res.body, c.res);
  }
  return c.res.headers;
}
