import { parseApiKey } from '../../../shared/keys/api-key.ts';
import type { KeyCache } from '../../stores/keys/key-cache.ts';

/** The token of `Authorization: Bearer <token>`, or null when the header is absent or not that shape. */
export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** Whether the request presents a key whose record `keys` holds in this isolate (its secret is not checked). */
export function presentsHeldKey(header: string | undefined, keys: Pick<KeyCache, 'holds'>): boolean {
  const presented = bearer(header);
  const parsed = presented ? parseApiKey(presented) : null;
  return parsed !== null && keys.holds(parsed.prefix);
}
