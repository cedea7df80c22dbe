import { type ExecutionOptions, optionsForInstanceKind } from '../runtime/execution-provider.ts';
import type { InstanceGroup } from './config/model-config.ts';

/** Session options per instance for the model's instance groups (`count` on each listed GPU when on CUDA). */
export function instanceExecutionOptions(
  groups: readonly InstanceGroup[],
  base: ExecutionOptions,
): ExecutionOptions[] {
  const out: ExecutionOptions[] = [];
  // N CPU instances with the default thread count each would oversubscribe the cores; split it among them.
  const cpuInstances = groups.reduce(
    (n, g) => n + (optionsForInstanceKind(base, g.kind).provider === 'cpu' ? g.count : 0),
    0,
  );
  if (!base.intraOpThreadsExplicit && cpuInstances > 1) {
    base = { ...base, intraOpThreads: Math.max(1, Math.floor(base.intraOpThreads / cpuInstances)) };
  }
  for (const g of groups) {
    const resolved = optionsForInstanceKind(base, g.kind);
    if (g.gpus && resolved.provider === 'cuda') {
      for (const gpu of g.gpus) {
        for (let i = 0; i < g.count; i++) out.push(optionsForInstanceKind(base, g.kind, gpu));
      }
    } else {
      for (let i = 0; i < g.count; i++) out.push(resolved);
    }
  }
  return out;
}
