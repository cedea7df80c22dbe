import { describe, expect, it } from 'vitest';
import type { BatchingConfig } from '../../../origin/batching/compile-policy.ts';
import { AppError } from '../../../shared/errors/index.ts';
import { compiledPolicy } from './batching-config.ts';

const policy = compiledPolicy;

describe('compilePolicy', () => {
  it('treats an empty preferred list as [max_batch_size], as Triton normalizes it', () => {
    const p = policy({ maxBatchSize: 16 });
    expect([...p.preferred]).toEqual([16]);
    expect(p.maxPreferred).toBe(16);
  });

  it('uses the largest preferred size as maxPreferred and converts the delay to ms', () => {
    const p = policy({ preferredBatchSizes: [2, 6, 4], maxQueueDelayMicros: 1500 });
    expect(p.maxPreferred).toBe(6);
    expect(p.delayMs).toBe(1.5);
  });

  it('resolves default priority level 0 to the lowest level and disables priorities at 0 levels', () => {
    expect(policy({ priorityLevels: 5, defaultPriorityLevel: 0 }).defaultLevel).toBe(5);
    expect(policy({ priorityLevels: 5, defaultPriorityLevel: 2 }).defaultLevel).toBe(2);
    const off = policy({ priorityLevels: 0 });
    expect(off.priorityEnabled).toBe(false);
    expect(off.levels).toBe(1);
    expect(off.defaultLevel).toBe(1);
  });

  it.each<[Partial<BatchingConfig>, string]>([
    [{ preferredBatchSizes: [16] }, 'preferred_batch_size 16'],
    [{ preferredBatchSizes: [0] }, 'preferred_batch_size 0'],
    [{ maxBatchSize: 0, preferredBatchSizes: [2] }, 'max_batch_size is 0'],
    [{ concurrency: 0 }, 'instance count'],
    [{ priorityLevels: 2, defaultPriorityLevel: 3 }, 'default_priority_level'],
    [{ maxQueueDelayMicros: -1 }, 'max_queue_delay_microseconds'],
    [{ maxQueueSize: 1.5 }, 'max_queue_size'],
    [{ maxBatchSize: -1 }, 'max_batch_size'],
  ])('rejects an invalid config %o with MODEL_LOAD_FAILED naming the field', (over, field) => {
    let caught: unknown;
    try {
      policy(over);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('MODEL_LOAD_FAILED');
    expect((caught as AppError).message).toContain('resnet');
    expect((caught as AppError).message).toContain(field);
  });
});
