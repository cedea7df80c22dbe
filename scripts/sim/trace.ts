import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const providerSchema = z.object({
  name: z.string().min(1),
  hourlyCostUsd: z.number().positive(),
  /** Launch → origin ready, mean; each boot varies ±`bootJitter` around it. */
  bootMs: z.number().int().positive(),
  /** Instances it can run at once (capacity or quota); launches beyond fail with no_capacity. */
  capacity: z.number().int().positive(),
});

/**
 * A trace file: arrivals as per-step request rates plus the scenario they run in. JSON:
 *
 * - `rates[i]` is the mean arrival rate (requests/s) during [i·stepS, (i+1)·stepS).
 * - `instance`: each GPU replica has `slots` parallel batch slots, each busy `serviceMs` per request, so it
 *   serves `slots / serviceMs` requests/s; the origin sheds beyond `queuePerInstance` queued requests.
 * - `providers` in failover order (cheapest first), `outages` as [fromS, toS) per provider.
 */
const traceSchema = z.object({
  name: z.string().min(1),
  description: z.string(),
  seed: z.number().int(),
  stepS: z.number().int().positive(),
  rates: z.array(z.number().nonnegative()).min(1),
  sloMs: z.number().positive(),
  /** How long the edge waits for an answer before failing the request. */
  deadlineMs: z.number().positive(),
  instance: z.object({
    slots: z.number().int().positive(),
    serviceMs: z.number().positive(),
    queuePerInstance: z.number().int().nonnegative(),
  }),
  providers: z.array(providerSchema).min(1),
  bootJitter: z.number().min(0).max(0.9).default(0.2),
  outages: z
    .array(
      z.object({ provider: z.string().min(1), fromS: z.number().nonnegative(), toS: z.number().positive() }),
    )
    .default([]),
  /** Control-loop period (reconcile runner), heartbeat period and registry TTL, seconds. */
  controlPeriodS: z.number().int().positive().default(15),
  heartbeatS: z.number().int().positive().default(5),
  registryTtlS: z.number().int().positive().default(15),
  /** Share of the fleet any one provider may hold (placement spreads launches; 1 = cheapest first only). */
  maxProviderShare: z.number().gt(0).max(1).default(0.4),
});

export type Trace = z.infer<typeof traceSchema>;

export function durationS(trace: Trace): number {
  return trace.rates.length * trace.stepS;
}

export function rateAt(trace: Trace, tS: number): number {
  return trace.rates[Math.min(trace.rates.length - 1, Math.floor(tS / trace.stepS))] ?? 0;
}

export async function loadTrace(path: string): Promise<Trace> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read trace ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = traceSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid trace ${path}:\n${lines.join('\n')}`);
  }
  const names = new Set(parsed.data.providers.map((p) => p.name));
  for (const o of parsed.data.outages) {
    if (!names.has(o.provider))
      throw new Error(`invalid trace ${path}: outage names unknown provider "${o.provider}"`);
  }
  return parsed.data;
}
