import { afterEach, describe, expect, it } from 'vitest';
import {
  executionOptionsFromConfig,
  optionsForInstanceKind,
  reportCudaFallback,
  resetCudaFallbackWarning,
  sessionAttempts,
} from '../../../origin/runtime/execution-provider.ts';
import { defaultIntraOpThreads, originConfigSchema } from '../../../shared/config/origin.ts';
import { captureLogger, testExecution } from '../../support/onnx-models.ts';

afterEach(() => resetCudaFallbackWarning());

describe('sessionAttempts', () => {
  it('creates a CPU-only session when CPU is configured', () => {
    const attempts = sessionAttempts(
      testExecution({ intraOpThreads: 3, interOpThreads: 2, graphOptimization: 'basic' }),
    );
    expect(attempts).toEqual([
      {
        provider: 'cpu',
        options: {
          executionProviders: ['cpu'],
          intraOpNumThreads: 3,
          interOpNumThreads: 2,
          graphOptimizationLevel: 'basic',
          executionMode: 'sequential',
          logSeverityLevel: 4,
        },
      },
    ]);
  });

  it('keeps onnxruntime to fatal log lines, so a client cannot make it print a failed kernel per request', () => {
    for (const attempt of sessionAttempts(testExecution({ provider: 'cuda' }))) {
      expect(attempt.options.logSeverityLevel).toBe(4);
    }
  });

  it('tries CUDA on the configured device first, then CPU with the same thread settings', () => {
    const attempts = sessionAttempts(testExecution({ provider: 'cuda', deviceId: 2, intraOpThreads: 4 }));
    expect(attempts.map((a) => a.provider)).toEqual(['cuda', 'cpu']);
    expect(attempts[0]!.options.executionProviders).toEqual([{ name: 'cuda', deviceId: 2 }]);
    expect(attempts[1]!.options.executionProviders).toEqual(['cpu']);
    expect(attempts[1]!.options.intraOpNumThreads).toBe(4);
  });
});

describe('optionsForInstanceKind', () => {
  const cuda = testExecution({ provider: 'cuda', deviceId: 1 });

  it('KIND_CPU forces CPU even when CUDA is configured', () => {
    expect(optionsForInstanceKind(cuda, 'KIND_CPU').provider).toBe('cpu');
  });

  it('KIND_GPU asks for CUDA even when CPU is configured, on the group GPU when given', () => {
    expect(optionsForInstanceKind(testExecution(), 'KIND_GPU')).toMatchObject({
      provider: 'cuda',
      deviceId: 0,
    });
    expect(optionsForInstanceKind(testExecution(), 'KIND_GPU', 3)).toMatchObject({
      provider: 'cuda',
      deviceId: 3,
    });
  });

  it('KIND_AUTO keeps the configured provider', () => {
    expect(optionsForInstanceKind(cuda, 'KIND_AUTO')).toEqual(cuda);
    expect(optionsForInstanceKind(testExecution(), 'KIND_AUTO').provider).toBe('cpu');
  });
});

describe('executionOptionsFromConfig', () => {
  it('maps the origin environment, defaulting intra-op threads to cores - 1', () => {
    const config = originConfigSchema.parse({ EXECUTION_PROVIDER: 'cuda', CUDA_DEVICE_ID: '1' });
    expect(executionOptionsFromConfig(config)).toEqual({
      provider: 'cuda',
      deviceId: 1,
      intraOpThreads: defaultIntraOpThreads(),
      interOpThreads: 1,
      graphOptimization: 'all',
      intraOpThreadsExplicit: false,
      threadNice: 10,
    });
    const explicit = originConfigSchema.parse({
      INTRA_OP_THREADS: '2',
      GRAPH_OPTIMIZATION: 'disabled',
      WORKER_THREAD_NICE: '0',
    });
    expect(executionOptionsFromConfig(explicit)).toMatchObject({
      intraOpThreads: 2,
      intraOpThreadsExplicit: true,
      graphOptimization: 'disabled',
      threadNice: 0,
    });
    expect(() => originConfigSchema.parse({ WORKER_THREAD_NICE: '20' })).toThrow();
  });
});

describe('reportCudaFallback', () => {
  it('warns once per process with the reason, then logs later fallbacks at info', () => {
    const { logger, at } = captureLogger();
    reportCudaFallback(logger, {
      reason: 'Failed to load shared library\nmore detail',
      deviceId: 0,
      modelPath: '/a',
    });
    reportCudaFallback(logger, { reason: 'Failed to load shared library', deviceId: 0, modelPath: '/b' });
    expect(at('warn').map((l) => l.msg)).toEqual([
      'CUDA execution provider unavailable (Failed to load shared library); falling back to CPU',
    ]);
    expect(at('info')).toHaveLength(1);
  });
});
