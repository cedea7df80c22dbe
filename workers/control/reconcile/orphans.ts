import { act, LIVE, type PassState } from './pass-state.ts';

/**
 * Hosts with our label that no live row owns (a launch that timed out at one provider before failover moved
 * on, or a row already ended): they cost money and serve nobody.
 */
export async function terminateOrphans(state: PassState): Promise<void> {
  for (const [provider, instances] of state.listed) {
    for (const inst of instances ?? []) {
      if (inst.status === 'terminated') continue;
      const owner = state.rows.find((r) => r.clientToken === inst.clientToken && LIVE.includes(r.status));
      if (owner && owner.provider === provider) continue;
      state.report.counts.orphans += 1;
      act(state, {
        kind: 'terminate',
        instanceId: null,
        provider,
        reason: `orphan ${inst.providerInstanceId}`,
      });
      if (!state.dryRun)
        await state.deps.failover.call(provider, (a) => a.terminate(inst.providerInstanceId));
    }
  }
}
