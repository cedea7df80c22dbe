import { describe, expect, it } from 'vitest';
import { originLoad, pickOrigin, servesModel } from '../../../workers/routing/picker.ts';
import { origin, sequence } from './fleet-fixtures.ts';

const base = {
  model: 'm',
  version: null,
  region: null,
  tried: [] as string[],
  isAvailable: () => true,
  random: Math.random,
};

describe('pickOrigin', () => {
  it('of two random choices picks the less loaded, normalised by capacity', () => {
    const busy = origin('busy', {
      load: { inflight: 5, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null },
    });
    const big = origin('big', {
      capacity: { maxInflight: 100 },
      load: { inflight: 10, queueDepth: {}, p50LatencyMs: null, gpuUtilization: null },
    });
    // random 0 → index 0 (busy), then 0 → index 1 (big, j skips i).
    const picked = pickOrigin({ ...base, origins: [busy, big], random: sequence(0, 0) });
    expect(picked?.id).toBe('big');
  });

  it('counts the queue depth of the requested model only', () => {
    const a = origin('a', {
      load: { inflight: 0, queueDepth: { m: 8, other: 0 }, p50LatencyMs: null, gpuUtilization: null },
    });
    const b = origin('b', {
      load: { inflight: 0, queueDepth: { other: 50 }, p50LatencyMs: null, gpuUtilization: null },
    });
    expect(originLoad(a, 'm')).toBeGreaterThan(originLoad(b, 'm'));
    expect(pickOrigin({ ...base, origins: [a, b], random: sequence(0, 0) })?.id).toBe('b');
  });

  it('adds this isolate’s in-flight requests to the published load', () => {
    const a = origin('a');
    const b = origin('b');
    const picked = pickOrigin({
      ...base,
      origins: [a, b],
      localInflight: (id) => (id === 'a' ? 5 : 0),
      random: sequence(0, 0),
    });
    expect(picked?.id).toBe('b');
  });

  it('skips draining origins, origins without the model or version, and open breakers', () => {
    const origins = [
      origin('draining', { status: 'draining' }),
      origin('other-model', { models: [{ name: 'x', versions: ['1'] }] }),
      origin('old-version', { models: [{ name: 'm', versions: ['1'] }] }),
      origin('open'),
      origin('good'),
    ];
    for (let i = 0; i < 20; i++) {
      const picked = pickOrigin({
        ...base,
        version: '2',
        origins,
        isAvailable: (id) => id !== 'open',
      });
      expect(picked?.id).toBe('good');
    }
  });

  it('never picks the origin tried last, and prefers untried ones', () => {
    const origins = [origin('a'), origin('b'), origin('c')];
    for (let i = 0; i < 30; i++) {
      expect(pickOrigin({ ...base, origins, tried: ['a'] })?.id).not.toBe('a');
      expect(pickOrigin({ ...base, origins, tried: ['a', 'b'] })?.id).toBe('c');
    }
    // With every origin tried, any but the last will do.
    expect(pickOrigin({ ...base, origins: [origin('a'), origin('b')], tried: ['a', 'b'] })?.id).toBe('a');
    expect(pickOrigin({ ...base, origins: [origin('a')], tried: ['a'] })).toBeNull();
  });

  it('prefers the edge’s region and fails over to another region when it has none left', () => {
    const origins = [
      origin('eu-1', { region: 'eu' }),
      origin('us-1', { region: 'us' }),
      origin('us-2', { region: 'us' }),
    ];
    for (let i = 0; i < 20; i++) {
      expect(pickOrigin({ ...base, region: 'eu', origins })?.id).toBe('eu-1');
      expect(pickOrigin({ ...base, region: 'eu', origins, tried: ['eu-1'] })?.region).toBe('us');
    }
  });

  it('returns null when nothing is eligible', () => {
    expect(pickOrigin({ ...base, origins: [] })).toBeNull();
    expect(pickOrigin({ ...base, origins: [origin('a')], isAvailable: () => false })).toBeNull();
  });

  it('spreads load over both origins when they are equally loaded', () => {
    const origins = [origin('a'), origin('b'), origin('c')];
    const counts = new Map<string, number>();
    const random = sequence(0.1, 0.6, 0.4, 0.9, 0.7, 0.2);
    for (let i = 0; i < 60; i++) {
      const id = pickOrigin({ ...base, origins, random })!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(3);
  });
});

describe('servesModel', () => {
  it('accepts a static origin listing every model', () => {
    expect(servesModel(origin('s', { models: [{ name: '*', versions: [] }] }), 'anything', '7')).toBe(true);
  });
});
