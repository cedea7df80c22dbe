import { describe, expect, it } from 'vitest';
import {
  type AutoscalerConfig,
  DEFAULT_AUTOSCALER_CONFIG,
} from '../../../../shared/fleet/autoscaler-config.ts';
import {
  type AutoscalerInput,
  type AutoscalerMemory,
  decideScale,
  INITIAL_MEMORY,
  type InstanceView,
  type LoadSample,
  type ProviderView,
} from '../../../../workers/control/autoscaler/policy.ts';

const NOW = 10_000_000;
const config: AutoscalerConfig = {
  ...DEFAULT_AUTOSCALER_CONFIG,
  targetInflightPerReplica: 4,
  minReplicas: 1,
  maxReplicas: 20,
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  scaleUpStabilizationMs: 0,
  scaleDownStabilizationMs: 300_000,
  scaleUp: { percent: 100, replicas: 4, periodMs: 15_000, select: 'max' },
  scaleDown: { percent: 50, replicas: 2, periodMs: 60_000, select: 'max' },
};

/** Constant load over the last `spanMs`, one sample per second. */
function steady(inflight: number, spanMs = 120_000, now = NOW): LoadSample[] {
  const out: LoadSample[] = [];
  for (let at = now - spanMs; at <= now; at += 1000) out.push({ at, inflight });
  return out;
}

function fleet(
  ready: number,
  opts: { inflight?: number; booting?: number; draining?: number } = {},
): InstanceView[] {
  const out: InstanceView[] = [];
  for (let i = 0; i < ready; i++)
    out.push({ id: `r${i}`, state: 'ready', inflight: opts.inflight ?? 0, launchedAt: i });
  for (let i = 0; i < (opts.booting ?? 0); i++)
    out.push({ id: `b${i}`, state: 'booting', inflight: 0, launchedAt: 100 + i });
  for (let i = 0; i < (opts.draining ?? 0); i++) out.push({ id: `d${i}`, state: 'draining', inflight: 2 });
  return out;
}

const providers: ProviderView[] = [
  { name: 'vast', available: true, bootMs: 150_000 },
  { name: 'runpod', available: true, bootMs: 90_000 },
];

function input(partial: Partial<AutoscalerInput>): AutoscalerInput {
  return { now: NOW, samples: [], instances: [], providers, memory: INITIAL_MEMORY, ...partial };
}

/** Memory holding a recommendation of `replicas` made `ago` ms before NOW. */
function recommended(replicas: number, ago: number): AutoscalerMemory {
  return { ...INITIAL_MEMORY, recommendations: [{ at: NOW - ago, replicas }], activeAt: NOW - 1000 };
}

describe('autoscaler policy (pure, clock-free)', () => {
  it.each([
    { name: 'steady load at target keeps the fleet', ready: 8, load: 32, desired: 8, add: 0, drains: 0 },
    {
      name: 'load at twice the replicas grows to ceil(load/target)',
      ready: 4,
      load: 30,
      desired: 8,
      add: 4,
      drains: 0,
    },
    { name: 'a fraction of a replica rounds up', ready: 2, load: 8.4, desired: 3, add: 1, drains: 0 },
    {
      name: 'growth is rate limited (+100 % or +4 per period)',
      ready: 3,
      load: 60,
      desired: 7,
      add: 4,
      drains: 0,
    },
    { name: 'max replicas caps growth', ready: 16, load: 400, desired: 20, add: 4, drains: 0 },
    { name: 'min replicas is the floor without load', ready: 1, load: 0, desired: 1, add: 0, drains: 0 },
  ])('$name', ({ ready, load, desired, add, drains }) => {
    const d = decideScale(input({ samples: steady(load), instances: fleet(ready) }), {
      ...config,
      panicThreshold: 1000,
    });
    expect({ desired: d.desired, add: d.add, drains: d.drain.length }).toEqual({ desired, add, drains });
  });

  it('counts booting instances as capacity already coming (no second launch for the same load)', () => {
    const d = decideScale(input({ samples: steady(32), instances: fleet(4, { booting: 4 }) }), config);
    expect(d.desired).toBe(8);
    expect(d.add).toBe(0);
    expect(d.inputs.booting).toBe(4);
  });

  it('draining instances are neither counted nor picked', () => {
    const d = decideScale(input({ samples: steady(16), instances: fleet(4, { draining: 3 }) }), config);
    expect(d.inputs.draining).toBe(3);
    expect(d.desired).toBe(4);
    expect(d.drain.some((id) => id.startsWith('d'))).toBe(false);
  });

  describe('scale-down stabilisation (HPA: highest recommendation of the down-window)', () => {
    it('holds the fleet while a higher recommendation is inside the window', () => {
      const d = decideScale(
        input({ samples: steady(8), instances: fleet(8), memory: recommended(8, 200_000) }),
        config,
      );
      expect(d.desired).toBe(8);
      expect(d.drain).toEqual([]);
      expect(d.reason).toContain('stabilised at 8');
    });

    it('shrinks once the window has passed, limited per period, draining idle instances', () => {
      const d = decideScale(
        input({ samples: steady(4), instances: fleet(8), memory: recommended(8, 301_000) }),
        config,
      );
      // recommended 1, scale-down limit max(−50 %, −2) from 8 → 4
      expect(d.desired).toBe(4);
      expect(d.drain).toHaveLength(4);
      expect(d.reason).toContain('scale-down limited to 4');
    });

    it('never drains an instance with in-flight work (busy replicas are kept)', () => {
      const d = decideScale(
        input({ samples: steady(4), instances: fleet(8, { inflight: 1 }), memory: recommended(8, 301_000) }),
        config,
      );
      expect(d.desired).toBe(4);
      expect(d.drain).toEqual([]);
      expect(d.reason).toContain('4 busy kept');
    });

    it('drains booting instances before idle ready ones', () => {
      const instances = fleet(4, { booting: 2 });
      const d = decideScale(
        input({ samples: steady(8), instances, memory: recommended(6, 400_000) }),
        config,
      );
      expect(d.desired).toBe(3);
      expect(d.drain).toEqual(['b1', 'b0', 'r3']);
    });
  });

  describe('scale-up stabilisation (HPA: lowest recommendation of the up-window)', () => {
    it('grows only to what the whole up-window recommended', () => {
      const cfg = { ...config, scaleUpStabilizationMs: 60_000, panicThreshold: 1000 };
      const memory: AutoscalerMemory = {
        ...INITIAL_MEMORY,
        recommendations: [
          { at: NOW - 50_000, replicas: 5 },
          { at: NOW - 20_000, replicas: 7 },
        ],
      };
      const d = decideScale(input({ samples: steady(40), instances: fleet(4), memory }), cfg);
      expect(d.desired).toBe(5);
      expect(d.add).toBe(1);
    });
  });

  describe('panic mode (Knative)', () => {
    const burst = [...steady(4, 120_000, NOW - 6_000), ...steady(40, 5_000)];

    it('enters panic when short-window load reaches twice the ready capacity and scales on the short window', () => {
      const d = decideScale(input({ samples: burst, instances: fleet(2) }), config);
      expect(d.panic).toBe(true);
      expect(d.inputs.panicLoad).toBeGreaterThanOrEqual(2 * 4 * 2);
      // stable window alone would recommend ceil(~7.7/4) = 2; panic recommends ceil(~38/4) = 10, limited to +4
      expect(d.inputs.recommended).toBeGreaterThan(8);
      expect(d.desired).toBe(6);
      expect(d.reason).toMatch(/^panic/);
    });

    it('never scales down while panicking, even when the load has fallen', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, panicAt: NOW - 30_000 };
      const d = decideScale(input({ samples: steady(2), instances: fleet(10), memory }), config);
      expect(d.panic).toBe(true);
      expect(d.desired).toBe(10);
      expect(d.drain).toEqual([]);
    });

    it('leaves panic one stable window after the condition last held', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, panicAt: NOW - 60_000 };
      const d = decideScale(input({ samples: steady(2), instances: fleet(10), memory }), config);
      expect(d.panic).toBe(false);
      expect(d.memory.panicAt).toBeNull();
    });

    it('keeps the panic timestamp fresh while the condition holds', () => {
      const d = decideScale(input({ samples: steady(40), instances: fleet(2) }), config);
      expect(d.memory.panicAt).toBe(NOW);
    });
  });

  describe('scale to zero', () => {
    const zero = {
      ...config,
      scaleToZero: true,
      minReplicas: 0,
      idleGraceMs: 600_000,
      coldStartBudgetMs: 120_000,
    };

    it('goes to zero after the idle grace when a provider boots within the cold-start budget', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, activeAt: NOW - 700_000 };
      const d = decideScale(input({ samples: steady(0), instances: fleet(2), memory }), zero);
      expect(d.desired).toBe(0);
      expect(d.drain).toEqual(['r1', 'r0']);
    });

    it('keeps one replica before the idle grace is over', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, activeAt: NOW - 100_000 };
      const d = decideScale(input({ samples: steady(0, 60_000), instances: fleet(2), memory }), zero);
      expect(d.desired).toBe(1);
      expect(d.reason).toContain('idle grace not over');
    });

    it('keeps one replica when no available provider boots within the budget', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, activeAt: NOW - 700_000 };
      const slow = [{ name: 'vast', available: true, bootMs: 150_000 }];
      const d = decideScale(
        input({ samples: steady(0), instances: fleet(2), memory, providers: slow }),
        zero,
      );
      expect(d.desired).toBe(1);
      expect(d.reason).toContain('cold-start budget');
    });

    it('is off by default: min replicas holds however long the fleet is idle', () => {
      const memory: AutoscalerMemory = { ...INITIAL_MEMORY, activeAt: NOW - 10_000_000 };
      const d = decideScale(input({ samples: steady(0), instances: fleet(1), memory }), config);
      expect(d.desired).toBe(1);
    });

    it('activates from zero at once when load appears, bypassing stabilisation', () => {
      const cfg = { ...zero, scaleUpStabilizationMs: 120_000 };
      const memory: AutoscalerMemory = {
        ...INITIAL_MEMORY,
        recommendations: [{ at: NOW - 10_000, replicas: 0 }],
      };
      const d = decideScale(input({ samples: [{ at: NOW, inflight: 9 }], instances: [], memory }), cfg);
      expect(d.desired).toBe(3);
      expect(d.add).toBe(3);
      expect(d.reason).toContain('activation from zero');
    });
  });

  describe('provider state', () => {
    it('launches nothing when every provider is unavailable and says why', () => {
      const down = providers.map((p) => ({ ...p, available: false }));
      const d = decideScale(input({ samples: steady(32), instances: fleet(4), providers: down }), config);
      expect(d.desired).toBe(8);
      expect(d.add).toBe(0);
      expect(d.reason).toContain('no provider available');
      expect(d.memory.events).toEqual([]);
    });

    it('caps launches at what the available providers can still take', () => {
      const tight = [
        { name: 'vast', available: false, remaining: 10 },
        { name: 'runpod', available: true, remaining: 2 },
      ];
      const d = decideScale(input({ samples: steady(32), instances: fleet(4), providers: tight }), config);
      expect(d.add).toBe(2);
      expect(d.reason).toContain('providers can take only 2');
    });
  });

  it('records its recommendations and changes in memory, and feeding memory back limits the next step', () => {
    const first = decideScale(input({ samples: steady(200), instances: fleet(4) }), config);
    expect(first.add).toBe(4);
    expect(first.memory.events).toEqual([{ at: NOW, delta: 4 }]);
    const second = decideScale(
      input({
        now: NOW + 5_000,
        samples: steady(200, 120_000, NOW + 5_000),
        instances: fleet(4, { booting: 4 }),
        memory: first.memory,
      }),
      config,
    );
    // Within the same 15 s period the fleet started at 4: +100 % allows 8, already reached.
    expect(second.add).toBe(0);
    expect(second.reason).toContain('scale-up limited to 8');
  });

  it('is pure: the same input gives the same decision and the input memory is not mutated', () => {
    const memory: AutoscalerMemory = recommended(6, 10_000);
    const frozen = JSON.stringify(memory);
    const a = decideScale(input({ samples: steady(20), instances: fleet(4), memory }), config);
    const b = decideScale(input({ samples: steady(20), instances: fleet(4), memory }), config);
    expect(a).toEqual(b);
    expect(JSON.stringify(memory)).toBe(frozen);
  });

  it('falls back to the ready instances’ in-flight counts when there are no samples', () => {
    const d = decideScale(input({ samples: [], instances: fleet(2, { inflight: 8 }) }), {
      ...config,
      panicThreshold: 1000,
    });
    expect(d.inputs.stableLoad).toBe(16);
    expect(d.desired).toBe(4);
  });
});
