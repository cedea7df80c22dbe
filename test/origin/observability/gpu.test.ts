import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  createGpuSampler,
  findExecutable,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmi,
} from '../../../origin/observability/gpu.ts';

const MIB = 1024 * 1024;

describe('parseNvidiaSmi', () => {
  it('parses one line per GPU', () => {
    const out = '0, 37, 1234, 81559\n1, 100, 80000, 81559\n';
    expect(parseNvidiaSmi(out)).toEqual([
      { index: 0, utilizationRatio: 0.37, memoryUsedBytes: 1234 * MIB, memoryTotalBytes: 81559 * MIB },
      { index: 1, utilizationRatio: 1, memoryUsedBytes: 80000 * MIB, memoryTotalBytes: 81559 * MIB },
    ]);
  });

  it('tolerates unsupported fields, CRLF and junk lines', () => {
    const out = '0, [N/A], 512, [Not Supported]\r\n\r\nNo devices were found\n';
    expect(parseNvidiaSmi(out)).toEqual([
      { index: 0, utilizationRatio: null, memoryUsedBytes: 512 * MIB, memoryTotalBytes: null },
    ]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});

describe('findExecutable', () => {
  it('finds an executable on PATH and not a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiserve-gpu-'));
    try {
      const bin = join(dir, 'fake-smi');
      writeFileSync(bin, '#!/bin/sh\n');
      chmodSync(bin, 0o755);
      writeFileSync(join(dir, 'not-exec'), '');
      expect(findExecutable('fake-smi', `/nonexistent:${dir}`)).toBe(bin);
      expect(findExecutable('not-exec', dir)).toBeNull();
      expect(findExecutable('nope', dir)).toBeNull();
      expect(findExecutable('nope', undefined)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createGpuSampler', () => {
  it('is unavailable and silent without nvidia-smi', async () => {
    const run = vi.fn();
    const sampler = createGpuSampler({ binary: null, run });
    expect(sampler.available).toBe(false);
    sampler.start();
    expect(await sampler.sampleNow()).toEqual([]);
    expect(run).not.toHaveBeenCalled();
    sampler.stop();
  });

  it('samples with the query arguments and reports the first failure once', async () => {
    let fail = false;
    const run = vi.fn(async (_file: string, _args: readonly string[]) => {
      if (fail) throw new Error('driver gone');
      return '0, 50, 100, 200\n';
    });
    const onError = vi.fn();
    const sampler = createGpuSampler({ binary: '/usr/bin/nvidia-smi', run, onError });
    expect(sampler.available).toBe(true);
    expect(await sampler.sampleNow()).toHaveLength(1);
    expect(run).toHaveBeenCalledWith('/usr/bin/nvidia-smi', NVIDIA_SMI_ARGS);
    expect(sampler.latest()[0]?.utilizationRatio).toBe(0.5);
    fail = true;
    await sampler.sampleNow();
    await sampler.sampleNow();
    expect(onError).toHaveBeenCalledTimes(1);
    expect(sampler.latest()).toEqual([]);
  });

  it('samples periodically once started', async () => {
    vi.useFakeTimers();
    try {
      const run = vi.fn(async () => '0, 1, 2, 3\n');
      const sampler = createGpuSampler({ binary: 'nvidia-smi', run, intervalMs: 5000 });
      sampler.start();
      expect(run).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(run).toHaveBeenCalledTimes(3);
      sampler.stop();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(run).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
