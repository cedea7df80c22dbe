import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../../../shared/fleet/autoscaler-config.ts';
import { createAutoscalerPolicy } from '../../../../workers/control/autoscaler/state.ts';
import type { ControlRedis, FleetSnapshot } from '../../../../workers/control/fleet-state.ts';

/** The two commands the policy binding uses, in memory. */
function memoryRedis(): ControlRedis {
  const values = new Map<string, unknown>();
  return {
    get: async (key: string) => (values.has(key) ? JSON.parse(String(values.get(key))) : null),
    set: async (key: string, value: unknown) => {
      values.set(key, value);
      return 'OK';
    },
  } as unknown as ControlRedis;
}

const idleFleet = (nowMs: number): FleetSnapshot => ({
  nowMs,
  origins: [],
  instances: [],
  providers: [{ name: 'runpod', breaker: 'closed', reachable: true }],
});

const config = {
  ...DEFAULT_AUTOSCALER_CONFIG,
  scaleToZero: true,
  idleGraceMs: 0,
  coldStartBudgetMs: 120_000,
};

describe('autoscaler policy binding (runner side)', () => {
  it('scales an idle fleet to zero when a provider is known to boot within the cold-start budget', async () => {
    const policy = createAutoscalerPolicy({ config, redis: memoryRedis(), bootMs: { runpod: 90_000 } });
    const decision = await policy(idleFleet(1_000_000));
    expect(decision.desired).toBe(0);
  });

  it('keeps one replica when no provider boot time is configured, or the known one is too slow', async () => {
    const unknown = createAutoscalerPolicy({ config, redis: memoryRedis() });
    expect((await unknown(idleFleet(1_000_000))).desired).toBe(1);
    const slow = createAutoscalerPolicy({ config, redis: memoryRedis(), bootMs: { runpod: 300_000 } });
    expect((await slow(idleFleet(1_000_000))).desired).toBe(1);
  });
});
