import type { Context } from 'hono';

/**
 * Headers of the response as they can be edited. A `Response` straight from `fetch` (or the Cache API) has
 * immutable headers in workerd; it is re-wrapped once (the body is streamed, not copied).
 */
export function responseHeaders(c: Context): Headers {
  if (editable.has(c.res)) return c.res.headers;
  try {
    c.res.headers.set('x-edge', '1');
    c.res.headers.delete('x-edge');
  } catch {
    c.res = new Response(c.res.body, c.res);
  }
  editable.add(c.res);
  return c.res.headers;
}

// Several middlewares add headers to the same response: probe it once, not once per middleware.
const editable = new WeakSet<Response>();
