import { listLiveInstances } from '../../../drizzle/queries/instances.ts';
import { listLiveOrigins } from '../../../shared/fleet/registry.ts';
import type { ProviderInstance } from '../providers/types.ts';
import type { PassState, ReconcileDeps, ReconcileReport } from './pass-state.ts';

/** Observe: gpu_instances, the registry, and every provider's `list()`. */
export async function observeFleet(
  deps: ReconcileDeps,
  report: ReconcileReport,
  options: { nowMs: number; actor: string; dryRun: boolean },
): Promise<PassState> {
  const rows = await listLiveInstances(deps.db);
  const origins = await listLiveOrigins(deps.redis, options.nowMs);
  const listed = new Map<string, ProviderInstance[] | null>();
  for (const adapter of deps.failover.providers()) {
    try {
      const instances = await deps.failover.call(adapter.name, (a) => a.list());
      listed.set(adapter.name, instances);
      report.providers.push({ name: adapter.name, breaker: '', listed: instances.length });
    } catch (err) {
      listed.set(adapter.name, null);
      const error = err instanceof Error ? err.message : String(err);
      report.providers.push({ name: adapter.name, breaker: '', listed: null, error });
    }
  }
  return { deps, report, ...options, rows, origins, listed };
}
