import { afterEach, describe, expect, it } from 'vitest';
import { equalJitterDelay } from '../../../../shared/backoff.ts';
import { createFailover, FailoverError } from '../../../../workers/control/providers/failover.ts';
import { createRunPodAdapter } from '../../../../workers/control/providers/runpod.ts';
import type { LaunchRequest } from '../../../../workers/control/providers/types.ts';
import { createVastAiAdapter } from '../../../../workers/control/providers/vast-ai.ts';
import { type FakeRunPod, startFakeRunPod } from '../../../support/provider-fakes/runpod.ts';
import { type FakeVastAi, startFakeVastAi } from '../../../support/provider-fakes/vast-ai.ts';

const vastTypes = { 'A100-80GB': 'A100 SXM4' };
const runpodTypes = { 'A100-80GB': 'NVIDIA A100 80GB PCIe' };

describe('failover across providers', () => {
  let time = 0;
  const now = () => time;
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    time += ms;
  };
  let vast: FakeVastAi;
  let runpod: FakeRunPod;

  async function setup(opts: { vastCapacity?: number; timeoutMs?: number } = {}) {
    time = 0;
    sleeps.length = 0;
    vast = await startFakeVastAi({
      apiKey: 'v',
      catalog: [{ providerType: 'A100 SXM4', region: 'US', hourlyCostUsd: 1.1 }],
      capacity: opts.vastCapacity === undefined ? undefined : { 'A100 SXM4': opts.vastCapacity },
    });
    runpod = await startFakeRunPod({
      apiKey: 'r',
      catalog: [{ providerType: 'NVIDIA A100 80GB PCIe', region: 'EU-RO-1', hourlyCostUsd: 1.64 }],
    });
    return createFailover({
      providers: [
        {
          adapter: createVastAiAdapter({
            apiKey: 'v',
            baseUrl: vast.baseUrl,
            gpuTypes: vastTypes,
            timeoutMs: opts.timeoutMs,
          }),
          gpuTypes: vastTypes,
        },
        {
          adapter: createRunPodAdapter({ apiKey: 'r', baseUrl: runpod.baseUrl, gpuTypes: runpodTypes }),
          gpuTypes: runpodTypes,
        },
      ],
      now,
      sleep,
      random: () => 0.5,
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      breakerThreshold: 3,
      halfOpenAfterMs: 60_000,
    });
  }

  afterEach(async () => {
    await Promise.all([vast?.close(), runpod?.close()]);
  });

  const req = (clientToken: string, gpuType = 'A100-80GB'): LaunchRequest => ({
    clientToken,
    gpuType,
    image: 'img:1',
    env: { ORIGIN_ID: clientToken },
  });

  it('launches on the second provider when the first has no capacity, without retrying the first', async () => {
    const failover = await setup({ vastCapacity: 0 });
    const outcome = await failover.launch(req('t1'));
    expect(outcome.provider).toBe('runpod');
    expect(outcome.attempts).toEqual([
      expect.objectContaining({ provider: 'vast-ai', outcome: 'failed', reason: 'no_capacity', calls: 1 }),
      expect.objectContaining({ provider: 'runpod', outcome: 'launched', calls: 1 }),
    ]);
    expect(runpod.cloud.live()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('tries the placement order first and still falls back to the providers it left out', async () => {
    const failover = await setup();
    const placed = await failover.launch(req('t-order'), { order: ['runpod'] });
    expect(placed.provider).toBe('runpod');
    expect(placed.attempts).toEqual([expect.objectContaining({ provider: 'runpod', outcome: 'launched' })]);
    await runpod.close();
    const fallback = await failover.launch(req('t-order-2'), { order: ['runpod', 'no-such-provider'] });
    expect(fallback.provider).toBe('vast-ai');
    expect(fallback.attempts.map((a) => a.provider)).toEqual(['runpod', 'vast-ai']);
  });

  it('opens the breaker on a provider that keeps failing with 5xx, then skips it without calling it', async () => {
    const failover = await setup();
    vast.cloud.failNext(100, 503);
    const first = await failover.launch(req('t1'));
    expect(first.provider).toBe('runpod');
    expect(first.attempts[0]).toMatchObject({
      provider: 'vast-ai',
      outcome: 'failed',
      reason: 'transient',
      calls: 3,
    });
    expect(failover.breakerStates()['vast-ai']).toBe('open');

    const vastRequests = vast.cloud.requests.length;
    const second = await failover.launch(req('t2'));
    expect(second.provider).toBe('runpod');
    expect(second.attempts[0]).toMatchObject({
      provider: 'vast-ai',
      outcome: 'skipped',
      reason: 'breaker_open',
      calls: 0,
    });
    expect(vast.cloud.requests.length).toBe(vastRequests);
  });

  it('lets a test call through after the cooldown on the injected clock, and closes when it succeeds', async () => {
    const failover = await setup();
    vast.cloud.failNext(3, 503);
    await failover.launch(req('t1'));
    expect(failover.breakerStates()['vast-ai']).toBe('open');
    time += 30_000;
    expect((await failover.launch(req('t2'))).attempts[0]).toMatchObject({ reason: 'breaker_open' });
    time += 31_000;
    const third = await failover.launch(req('t3'));
    expect(third.provider).toBe('vast-ai');
    expect(failover.breakerStates()['vast-ai']).toBe('closed');
  });

  it('retries transient errors on the same provider with growing, jittered backoff', async () => {
    const failover = await setup();
    vast.cloud.failNext(2, 502);
    const outcome = await failover.launch(req('t1'));
    expect(outcome.provider).toBe('vast-ai');
    expect(outcome.attempts).toEqual([
      expect.objectContaining({ provider: 'vast-ai', outcome: 'launched', calls: 3 }),
    ]);
    expect(sleeps).toEqual([equalJitterDelay(0, { baseDelayMs: 100, maxDelayMs: 2_000 }, () => 0.5), 150]);
    expect(runpod.cloud.requests).toEqual([]);
  });

  it('honours a provider Retry-After as the floor of the backoff on 429', async () => {
    const failover = await setup({ vastCapacity: 0 });
    runpod.cloud.rateLimitNext(1);
    const outcome = await failover.launch(req('t1'));
    expect(outcome.provider).toBe('runpod');
    expect(sleeps).toEqual([1_000]);
  });

  it('a retry after a launch timed out does not start a second host', async () => {
    const failover = await setup({ timeoutMs: 1_500 });
    vast.cloud.hangLaunches = 1;
    const outcome = await failover.launch(req('t-timeout'));
    expect(outcome.provider).toBe('vast-ai');
    expect(outcome.attempts[0]).toMatchObject({ outcome: 'launched', calls: 2 });
    expect(vast.cloud.live()).toHaveLength(1);
    expect(runpod.cloud.live()).toHaveLength(0);
  });

  it('skips a provider without a mapping for the GPU type, without calling it', async () => {
    const failover = await setup();
    await expect(failover.launch(req('t1', 'H100-80GB'))).rejects.toMatchObject({
      attempts: [
        { provider: 'vast-ai', outcome: 'skipped', reason: 'unsupported_gpu_type', calls: 0 },
        { provider: 'runpod', outcome: 'skipped', reason: 'unsupported_gpu_type', calls: 0 },
      ],
    });
    expect(vast.cloud.requests).toEqual([]);
  });

  it('fails with a typed error naming each provider and its reason when none can launch', async () => {
    const failover = await setup({ vastCapacity: 0 });
    runpod.cloud.quotaExceeded = true;
    const err = await failover.launch(req('t1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailoverError);
    const failure = err as FailoverError;
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.attempts.map((a) => [a.provider, a.reason])).toEqual([
      ['vast-ai', 'no_capacity'],
      ['runpod', 'quota'],
    ]);
    expect(failure.message).toContain('vast-ai: no_capacity; runpod: quota');
  });

  it('does not count no-capacity answers against the breaker', async () => {
    const failover = await setup({ vastCapacity: 0 });
    for (let i = 0; i < 5; i++) await failover.launch(req(`t${i}`));
    expect(failover.breakerStates()['vast-ai']).toBe('closed');
  });
});
