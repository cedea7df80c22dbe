import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config/load.ts';
import {
  type AutoscalerConfig,
  autoscalerConfigFromEnv,
  autoscalerEnvSchema,
} from '../../shared/fleet/autoscaler-config.ts';
import { UsageError } from '../usage-error.ts';
import { markdownSection, summarise } from './report.ts';
import { runScenario, type ScenarioResult } from './scenario.ts';
import { renderSvg } from './svg.ts';
import { loadTrace } from './trace.ts';

/** Parses `--trace <file> [--out <dir>]` (and `--out` alone for run-all). */
export function parseArgs(argv: readonly string[], allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    const name = arg.startsWith('--') ? arg.slice(2) : null;
    if (!name || !allowed.includes(name)) {
      throw new UsageError(`unknown argument "${arg}" (expected ${allowed.map((a) => `--${a}`).join(', ')})`);
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    out[name] = value;
    i++;
  }
  return out;
}

/** The autoscaler under test: defaults, overridden by AUTOSCALER_* variables (the runner's own schema). */
export function configFromEnv(env: Record<string, string | undefined>): AutoscalerConfig {
  return autoscalerConfigFromEnv(loadConfig(autoscalerEnvSchema, env, 'autoscaler'));
}

export interface TraceRun {
  name: string;
  description: string;
  result: ScenarioResult;
  files: string[];
}

/** Runs one trace file and writes `sim-<name>.json` and `.svg` under `outDir`. */
export async function runTraceFile(
  path: string,
  outDir: string,
  config: AutoscalerConfig,
): Promise<TraceRun> {
  const trace = await loadTrace(path);
  const result = await runScenario(trace, config);
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, `sim-${trace.name}.json`);
  const svg = join(outDir, `sim-${trace.name}.svg`);
  const body = {
    trace: trace.name,
    description: trace.description,
    config,
    scenario: {
      sloMs: trace.sloMs,
      deadlineMs: trace.deadlineMs,
      instance: trace.instance,
      providers: trace.providers,
      outages: trace.outages,
      controlPeriodS: trace.controlPeriodS,
      heartbeatS: trace.heartbeatS,
      registryTtlS: trace.registryTtlS,
      maxProviderShare: trace.maxProviderShare,
    },
    costRatio: Math.round(result.costRatio * 10_000) / 10_000,
    targets: result.targets,
    autoscaler: summarise(result.autoscaler),
    static: { replicas: result.staticReplicas, ...summarise(result.static) },
    timeline: result.autoscaler.timeline.map((p) => ({
      ...p,
      rate: Math.round(p.rate * 10) / 10,
      overSlo: Math.round(p.overSlo),
      requests: Math.round(p.requests),
    })),
  };
  await writeFile(json, `${JSON.stringify(body, null, 1)}\n`);
  await writeFile(
    svg,
    renderSvg(result.autoscaler, {
      title: `${trace.name}: autoscaler at ${result.costRatio.toFixed(2)} × the cost of a static fleet`,
      subtitle: trace.description,
      staticReplicas: result.staticReplicas,
    }),
  );
  return { name: trace.name, description: trace.description, result, files: [json, svg] };
}

export function printRun(run: TraceRun): void {
  const a = summarise(run.result.autoscaler);
  console.log(
    `${run.name}: cost $${a.costUsd.toFixed(2)} (${run.result.costRatio.toFixed(3)} × static ${run.result.staticReplicas}), ` +
      `over SLO ${a.overSloPct}, rejected ${a.rejected}, lost on failed hosts ${a.lostOnFailedHosts}, peak ${a.peakInstances} instances`,
  );
  for (const t of run.result.targets) console.log(`  ${t.met ? 'met  ' : 'MISSED'} ${t.name}: ${t.detail}`);
  for (const f of run.files) console.log(`  wrote ${f}`);
}

export { markdownSection };
