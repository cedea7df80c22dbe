import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbEdge, startDbEdge } from '../db-fixture.ts';

let t: DbEdge;
beforeAll(async () => {
  t = await startDbEdge();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('GET /openapi.json with every route registered (inference routing included)', () => {
  it('documents the inference, metadata and admin paths', async () => {
    const res = await t.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/v2/models/{model}/infer',
      '/v2/models/{model}',
      '/admin/v1/tenants',
      '/admin/v1/tenants/{tenant}/keys',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
  });

  it('shows an input tensor’s data as an array, although the edge checks it without walking it', async () => {
    const doc: unknown = await (await t.request('/openapi.json')).json();
    // Every tensor object schema in the document (request inputs, response outputs) by its `data` property.
    const tensors: unknown[] = [];
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const properties = (node as { properties?: Record<string, unknown> }).properties;
      if (properties?.shape && properties.datatype && properties.data) tensors.push(properties.data);
      for (const child of Object.values(node)) walk(child);
    };
    walk(doc);
    expect(tensors).toContainEqual({ type: 'array', items: {} });
  });
});
