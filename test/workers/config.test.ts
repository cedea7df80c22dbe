import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/load.ts';
import { readEdgeSettings, stringBindings } from '../../workers/config.ts';

describe('readEdgeSettings: the edge configuration, read once from the bindings', () => {
  it('reads the gateway, routing and database parts from the same bindings', () => {
    const settings = readEdgeSettings({
      ENVIRONMENT: 'test',
      RATE_LIMIT_IP_BURST: '7',
      BREAKER_FAILURES: '3',
      DATABASE_URL: 'postgres://edge@127.0.0.1:5432/aiserve',
    });
    expect(settings.edge.RATE_LIMIT_IP_BURST).toBe(7);
    expect(settings.routing.BREAKER_FAILURES).toBe(3);
    expect(settings.database?.DATABASE_DRIVER).toBe('pg');
  });

  it('has no database part without DATABASE_URL (the edge runs without Postgres)', () => {
    expect(readEdgeSettings({ ENVIRONMENT: 'test' }).database).toBeNull();
  });

  it('names the bad variable', () => {
    expect(() => readEdgeSettings({ REQUEST_DEADLINE_MS: 'soon' })).toThrow(ConfigError);
    expect(() => readEdgeSettings({ REQUEST_DEADLINE_MS: 'soon' })).toThrow(/REQUEST_DEADLINE_MS/);
  });

  it('reads only string bindings (a KV or service binding is not configuration)', () => {
    expect(stringBindings({ LOG_LEVEL: 'warn', CACHE: { get() {} }, PORT: 1 })).toEqual({
      LOG_LEVEL: 'warn',
    });
  });
});
