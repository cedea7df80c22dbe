import { markLaunched } from '../../../drizzle/queries/instances.ts';
import type { OriginRecord } from '../../../shared/fleet/origin-record.ts';
import { DRAIN_KEY_PREFIX } from '../../../shared/redis-keys.ts';
import { type DrainMarker, originIdFor } from '../fleet-state.ts';
import { act, markInstance, originOf, type PassState, terminateInstance } from './pass-state.ts';

function idle(origin: OriginRecord | null): boolean {
  if (!origin) return true;
  const queued = Object.values(origin.load.queueDepth).reduce((a, b) => a + b, 0);
  return origin.load.inflight === 0 && queued === 0;
}

/**
 * Settle each live row against what the provider and the registry say: ready, boot timeout, gone or failed
 * at the provider, drain finished.
 */
export async function settleInstances(state: PassState): Promise<void> {
  const { deps, listed, nowMs, dryRun } = state;
  for (const row of state.rows) {
    const providerList = listed.get(row.provider);
    const found =
      providerList?.find((i) => i.clientToken === row.clientToken) ??
      (row.status === 'requested'
        ? [...listed.values()].flatMap((l) => l ?? []).find((i) => i.clientToken === row.clientToken)
        : undefined);
    const age = nowMs - row.launchedAt;
    if (row.status === 'requested') {
      if (found) {
        // A previous pass died between the provider's answer and the UPDATE: adopt the host.
        act(state, {
          kind: 'mark',
          instanceId: row.id,
          provider: found.provider,
          reason: 'adopted launched host',
        });
        if (!dryRun) await markLaunched(deps.db, row.id, { ...found, provider: found.provider });
        Object.assign(row, {
          status: 'booting',
          provider: found.provider,
          providerInstanceId: found.providerInstanceId,
        });
      } else if (age > deps.bootTimeoutMs) {
        await markInstance(state, row, 'failed', 'launch never reached a provider');
      }
      continue;
    }
    if (row.status === 'terminating') {
      await terminateInstance(state, row, 'terminated', 'terminate retried');
      continue;
    }
    if (providerList && !found) {
      await markInstance(state, row, 'terminated', 'gone at the provider');
      continue;
    }
    if (found?.status === 'failed') {
      await terminateInstance(state, row, 'failed', 'host failed at the provider');
      continue;
    }
    if (found?.status === 'terminated') {
      await markInstance(state, row, 'terminated', 'terminated at the provider');
      continue;
    }
    const origin = originOf(state, row);
    if (row.status === 'booting') {
      if (origin?.status === 'ready')
        await markInstance(state, row, 'ready', `origin ${origin.id} registered`);
      else if (age > deps.bootTimeoutMs) {
        state.report.counts.bootTimeouts += 1;
        await terminateInstance(
          state,
          row,
          'failed',
          `boot timeout: not ready after ${Math.round(age / 1000)} s`,
        );
      }
    } else if (row.status === 'draining') {
      const marker = await deps.redis.get<DrainMarker>(
        `${DRAIN_KEY_PREFIX}${origin?.id ?? originIdFor(row.id)}`,
      );
      if (idle(origin)) await terminateInstance(state, row, 'terminated', 'drained: idle');
      else if (!marker || nowMs >= marker.deadlineAt)
        await terminateInstance(state, row, 'terminated', 'drain deadline passed');
    }
  }
}
