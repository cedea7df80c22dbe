/** The shipped traces, built from fixed seeds (written by `make-traces.ts`, checked by the tests). */
import { seededRandom } from './rng.ts';
import type { Trace } from './trace.ts';

/** A100-80GB-class hosts; prices and boot times in the range the providers list (cheapest first). */
const PROVIDERS: Trace['providers'] = [
  { name: 'vast-ai', hourlyCostUsd: 1.05, bootMs: 150_000, capacity: 48 },
  { name: 'runpod', hourlyCostUsd: 1.19, bootMs: 90_000, capacity: 40 },
  { name: 'lambda', hourlyCostUsd: 1.29, bootMs: 120_000, capacity: 24 },
];

const SCENARIO = {
  sloMs: 300,
  deadlineMs: 10_000,
  // 8 batch slots × 100 ms per request: 80 requests/s per replica when every slot is busy.
  instance: { slots: 8, serviceMs: 100, queuePerInstance: 64 },
  providers: PROVIDERS,
  bootJitter: 0.2,
  controlPeriodS: 15,
  heartbeatS: 5,
  registryTtlS: 15,
  maxProviderShare: 0.4,
};

const round = (x: number) => Math.round(x * 10) / 10;

/** Weekday traffic: a midday peak, an evening shoulder, a quiet night (6 % of peak). */
function diurnalShape(hour: number): number {
  const day = Math.exp(-(((hour - 13.5) / 4) ** 2));
  const evening = 0.55 * Math.exp(-(((hour - 20.5) / 1.8) ** 2));
  return 0.06 + 0.94 * Math.max(day, evening);
}

/** A burst multiplier: 60 s ramps up and down around a plateau. */
function burst(t: number, start: number, length: number, height: number): number {
  const ramp = 60;
  if (t < start || t > start + length) return 0;
  const up = Math.min(1, (t - start) / ramp);
  const down = Math.min(1, (start + length - t) / ramp);
  return height * Math.min(up, down);
}

function diurnal(name: string, seed: number, description: string, outages: Trace['outages']): Trace {
  const random = seededRandom(seed);
  const stepS = 10;
  const peak = 1600;
  const bursts = Array.from({ length: 6 }, () => ({
    start: Math.floor(random() * 80_000) + 2_000,
    length: 300 + Math.floor(random() * 600),
    height: 0.25 + random() * 0.25,
  }));
  const rates: number[] = [];
  for (let i = 0; i < 86_400 / stepS; i++) {
    const t = i * stepS;
    const noise = 1 + (random() - 0.5) * 0.1;
    const extra = bursts.reduce((s, b) => s + burst(t, b.start, b.length, b.height), 0);
    rates.push(round(peak * diurnalShape(t / 3600) * (1 + extra) * noise));
  }
  return { name, description, seed, stepS, rates, outages, ...SCENARIO };
}

function flashCrowd(): Trace {
  const random = seededRandom(7);
  const rates: number[] = [];
  for (let t = 0; t < 3 * 3600; t++) {
    let r = 200;
    if (t >= 3600 && t < 3620) r = 200 + (1800 * (t - 3600)) / 20;
    else if (t >= 3620 && t < 3620 + 1800) r = 2000;
    else if (t >= 5420 && t < 5420 + 1200) r = 2000 - (1750 * (t - 5420)) / 1200;
    else if (t >= 6620) r = 250;
    rates.push(round(r * (1 + (random() - 0.5) * 0.1)));
  }
  return {
    name: 'flash-crowd',
    description:
      '3 h: 200 req/s, then 10× within 20 s at 1:00, held 30 min, decaying over 20 min to 250 req/s',
    seed: 7,
    stepS: 1,
    rates,
    outages: [],
    ...SCENARIO,
  };
}

export function buildTraces(): Trace[] {
  return [
    diurnal(
      'diurnal',
      42,
      '24 h weekday: night at 6 % of a 1600 req/s midday peak, an evening shoulder, six 5–15 min bursts of +25–50 %',
      [],
    ),
    flashCrowd(),
    diurnal(
      'provider-outage',
      43,
      'the diurnal day (another seed) where the cheapest provider (vast-ai) fails at the peak, 13:00–14:30: its hosts die and its API returns 503',
      [{ provider: 'vast-ai', fromS: 13 * 3600, toS: 14.5 * 3600 }],
    ),
  ];
}

export function traceFileContent(trace: Trace): string {
  return `${JSON.stringify(trace)}\n`;
}
