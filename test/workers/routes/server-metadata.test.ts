import { describe, expect, it } from 'vitest';
import { testEdge } from '../edge-fixture.ts';

describe('GET /v2 (server metadata)', () => {
  it('answers the protocol metadata without a key, naming the extensions usable through the edge', async () => {
    const { app } = await testEdge();
    const res = await app.request('/v2');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string; version: string; extensions: string[] };
    expect(body.name).toBe('aiserve-edge');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.extensions).toContain('binary_tensor_data');
    expect(body.extensions).not.toContain('model_repository');
    expect(res.headers.get('ratelimit-limit')).toBeTruthy();
  });

  it('is in the OpenAPI document', async () => {
    const { app } = await testEdge();
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(doc.paths['/v2']).toBeDefined();
  });
});
