import type { Context } from 'hono';
import { clientAddress } from '../../adapters/client-address.ts';
import type { AuthContext } from '../auth/index.ts';

/** Limits for requests without a (valid) key, per client address. */
export interface IpLimits {
  perMinute: number;
  burst: number;
}

export interface Bucket extends IpLimits {
  identifier: string;
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
