import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../workers/index.ts';

/** The Workers entry (workers/index.ts), called as workerd calls it, with a configuration that does not load. */

const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
const bad = { EDGE_PORT: 'not-a-port' };

afterEach(() => {
  vi.restoreAllMocks();
});

async function call(path: string) {
  vi.spyOn(console, 'error').mockImplementation(() => {});
  const fetch = worker.fetch as unknown as (r: Request, env: unknown, c: unknown) => Promise<Response>;
  const res = await fetch(new Request(`https://edge.example${path}`), bad, ctx);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a worker whose configuration does not load', () => {
  it('is live, not ready (503), and answers everything else 500', async () => {
    expect(await call('/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await call('/v2/health/ready')).toEqual({
      status: 503,
      body: { ready: false, dependencies: {}, error: expect.stringContaining('configuration invalid') },
    });
    expect(await call('/v2/models/m/infer')).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
  });
});
