import { describe, expect, it } from 'vitest';
import { type InstanceView, pickDrains } from '../../../../workers/control/autoscaler/drain-picker.ts';

describe('drain picker', () => {
  const fleet: InstanceView[] = [
    { id: 'busy', state: 'ready', inflight: 3, hourlyCostUsd: 9 },
    { id: 'cheap-idle', state: 'ready', inflight: 0, hourlyCostUsd: 1, launchedAt: 5 },
    { id: 'dear-idle', state: 'ready', inflight: 0, hourlyCostUsd: 3, launchedAt: 1 },
    { id: 'cheap-idle-new', state: 'ready', inflight: 0, hourlyCostUsd: 1, launchedAt: 9 },
    { id: 'boot-old', state: 'booting', inflight: 0, launchedAt: 10 },
    { id: 'boot-new', state: 'booting', inflight: 0, launchedAt: 20 },
    { id: 'leaving', state: 'draining', inflight: 0, hourlyCostUsd: 99 },
  ];
  it('takes booting (newest first), then idle ready (dearest, then newest first)', () => {
    expect(pickDrains(fleet, 10)).toEqual([
      'boot-new',
      'boot-old',
      'dear-idle',
      'cheap-idle-new',
      'cheap-idle',
    ]);
    expect(pickDrains(fleet, 3)).toEqual(['boot-new', 'boot-old', 'dear-idle']);
  });
  it('never picks a busy or draining instance, and nothing for a count of zero', () => {
    expect(pickDrains(fleet, 10)).not.toContain('busy');
    expect(pickDrains(fleet, 10)).not.toContain('leaving');
    expect(pickDrains(fleet, 0)).toEqual([]);
  });
});
