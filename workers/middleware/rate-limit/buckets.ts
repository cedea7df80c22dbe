import type { Context } from 'hono';
import type { AuthContext } from '../auth/index.ts';

/** Limits for requests without a (valid) key, per client address. */
export interface IpLimits {
  perMinute: number;
  burst: number;
}

export interface Bucket extends IpLimits {
  identifier: string;
}

/**
 * The client's address: on Workers `CF-Connecting-IP`, which Cloudflare sets; under Node (`npm run
 * edge:node`, where `c.env.incoming` is the Node request) the TCP peer, because there any client could send
 * that header and pick a fresh bucket per request.
 */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  if (incoming) return incoming.socket?.remoteAddress || 'unknown';
  return c.req.header('cf-connecting-ip')?.trim() || 'unknown';
}

/** The bucket of a request without a (valid) key: its client address. */
export function ipBucket(c: Context, ip: IpLimits): Bucket {
  return { identifier: `ip:${clientAddress(c).slice(0, 64)}`, ...ip };
}

/** A key's bucket (its tenant plan's rate and burst), the operator's, or else the client address's. */
export function bucketFor(c: Context, auth: AuthContext | undefined, ip: IpLimits): Bucket {
  if (auth?.keyId) {
    return { identifier: `key:${auth.keyId}`, perMinute: auth.requestsPerMinute, burst: auth.burst };
  }
  if (auth?.operator) return { identifier: 'operator', perMinute: auth.requestsPerMinute, burst: auth.burst };
  return ipBucket(c, ip);
}
