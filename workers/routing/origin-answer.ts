import type { StoredResponse } from '../stores/responses/stored-response.ts';
import type { OriginResponse } from './forward.ts';

/**
 * An origin's answer as coalesced callers share it: every header the client should see (not only the
 * cacheable ones), immutable bytes, and which origin answered.
 */
export interface OriginAnswer extends StoredResponse {
  originId: string;
}

/** Per-request headers of the origin's answer that the edge sets itself. */
const EDGE_OWNED = new Set(['x-request-id', 'x-cache', 'age']);

export function answerFrom(response: OriginResponse, now: number): OriginAnswer {
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (!EDGE_OWNED.has(name.toLowerCase())) headers.push([name.toLowerCase(), value]);
  });
  return {
    status: response.status,
    headers,
    body: response.body,
    storedAt: now,
    originId: response.originId,
  };
}
