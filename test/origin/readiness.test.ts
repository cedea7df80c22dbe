import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../origin/lifecycle.ts';
import { Readiness } from '../../origin/readiness.ts';
import type { ModelVersionState } from '../../origin/repository/version-state.ts';

function setup(states: Record<string, ModelVersionState>) {
  const lifecycle = new Lifecycle();
  const readiness = new Readiness({
    lifecycle,
    repository: { modelState: (name) => states[name] ?? 'UNAVAILABLE' },
  });
  return { lifecycle, readiness };
}

describe('origin readiness', () => {
  it('is not ready while starting, ready once the expected models are READY, and not ready from the drain on', () => {
    const { lifecycle, readiness } = setup({ a: 'READY', b: 'READY' });
    readiness.expect(['a', 'b']);
    expect(readiness.check()).toEqual({
      ready: false,
      error: 'server is starting',
      models: { a: 'READY', b: 'READY' },
    });
    lifecycle.ready();
    expect(readiness.check()).toEqual({ ready: true, models: { a: 'READY', b: 'READY' } });
    lifecycle.drain();
    expect(readiness.check()).toMatchObject({ ready: false, error: 'server is draining' });
  });

  it('names each expected model that is not READY', () => {
    const { lifecycle, readiness } = setup({ a: 'READY', b: 'LOADING' });
    readiness.expect(['c', 'a', 'b']);
    lifecycle.ready();
    expect(readiness.check()).toEqual({
      ready: false,
      error: 'not every model is ready: b is LOADING, c is UNAVAILABLE',
      models: { a: 'READY', b: 'LOADING', c: 'UNAVAILABLE' },
    });
  });

  it('follows what the repository API loads and unloads', () => {
    const states: Record<string, ModelVersionState> = { a: 'READY' };
    const { lifecycle, readiness } = setup(states);
    lifecycle.ready();
    expect(readiness.check()).toEqual({ ready: true, models: {} });
    readiness.loaded('a');
    expect(readiness.check().models).toEqual({ a: 'READY' });
    states.a = 'UNAVAILABLE';
    expect(readiness.check().ready).toBe(false);
    readiness.unloaded('a');
    expect(readiness.check()).toEqual({ ready: true, models: {} });
  });
});
