import type { Context } from 'hono';

/**
 * The client's address: on Workers `CF-Connecting-IP`, which Cloudflare sets; under Node (`npm run
 * edge:node`, where `c.env.incoming` is the Node request) the TCP peer, because there any client could send
 * that header. The per-IP rate-limit buckets and the audit log both take it from here.
 */
export function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  if (incoming) return incoming.socket?.remoteAddress || 'unknown';
  return c.req.header('cf-connecting-ip')?.trim() || 'unknown';
}
