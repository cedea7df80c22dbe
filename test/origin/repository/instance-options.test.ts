import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../origin/repository/config/model-config.ts';
import { instanceExecutionOptions } from '../../../origin/repository/instance-options.ts';
import { testExecution } from '../../support/onnx-models.ts';

describe('instanceExecutionOptions', () => {
  it('shares the default intra-op threads among CPU instances so they do not oversubscribe the cores', () => {
    const groups = parseModelConfig({ instance_group: [{ count: 2, kind: 'KIND_CPU' }] }, 'c').instanceGroups;
    const auto = instanceExecutionOptions(
      groups,
      testExecution({ intraOpThreads: 8, intraOpThreadsExplicit: false }),
    );
    expect(auto.map((o) => o.intraOpThreads)).toEqual([4, 4]);
    const explicit = instanceExecutionOptions(
      groups,
      testExecution({ intraOpThreads: 8, intraOpThreadsExplicit: true }),
    );
    expect(explicit.map((o) => o.intraOpThreads)).toEqual([8, 8]);
  });

  it('starts count instances per group, forcing CPU for KIND_CPU', () => {
    const groups = parseModelConfig({ instance_group: [{ count: 2, kind: 'KIND_CPU' }] }, 'c').instanceGroups;
    const options = instanceExecutionOptions(groups, testExecution({ provider: 'cuda' }));
    expect(options.map((o) => o.provider)).toEqual(['cpu', 'cpu']);
  });

  it('places count instances on each listed GPU', () => {
    const groups = parseModelConfig(
      { instance_group: [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1] }] },
      'c',
    ).instanceGroups;
    const options = instanceExecutionOptions(groups, testExecution());
    expect(options.map((o) => [o.provider, o.deviceId])).toEqual([
      ['cuda', 0],
      ['cuda', 0],
      ['cuda', 1],
      ['cuda', 1],
    ]);
  });
});
