import type { AutoscalerConfig } from '../../shared/fleet/autoscaler-config.ts';
import {
  type AutoscalerInput,
  type AutoscalerMemory,
  decideScale,
  type ScaleDecision,
} from '../../workers/control/autoscaler/policy.ts';

/** A control step: the autoscaler's decision or a static fleet's, and the memory for the next step. */
export type Policy = (input: AutoscalerInput) => ScaleDecision & { memory: AutoscalerMemory };

export function autoscalerPolicy(config: AutoscalerConfig): Policy {
  return (input) => decideScale(input, config);
}

/** A fleet of `n` that only replaces what it loses: the "sized for the peak" baseline. */
export function staticPolicy(n: number): Policy {
  return (input) => {
    const current = input.instances.filter((i) => i.state !== 'draining').length;
    return {
      desired: n,
      add: Math.max(0, n - current),
      drain: [],
      panic: false,
      reason: 'static',
      memory: input.memory,
    };
  };
}
