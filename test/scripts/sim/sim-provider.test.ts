import { describe, expect, it } from 'vitest';
import { SimProvider } from '../../../scripts/sim/sim-provider.ts';
import { isProviderError } from '../../../workers/control/providers/types.ts';

function provider(capacity = 2) {
  let now = 0;
  const p = new SimProvider(
    { name: 'sim', hourlyCostUsd: 1, bootMs: 100_000, capacity },
    { now: () => now, random: () => 0.5, bootJitter: 0.2 },
  );
  return { p, at: (ms: number) => (now = ms) };
}
const req = (token: string) => ({ clientToken: token, gpuType: 'A100-80GB', image: 'img', env: {} });

describe('simulated provider (ProviderAdapter on the simulated clock)', () => {
  it('boots a launched host after its boot time and reports it running', async () => {
    const { p, at } = provider();
    const inst = await p.launch(req('a'));
    expect(inst.status).toBe('booting');
    at(99_999);
    expect(p.advance()).toEqual([]);
    at(100_000);
    expect(p.advance()).toEqual([inst.providerInstanceId]);
    expect((await p.get(inst.providerInstanceId))?.status).toBe('running');
  });

  it('a retried launch with the same client token returns the same host', async () => {
    const { p } = provider();
    const a = await p.launch(req('same'));
    const b = await p.launch(req('same'));
    expect(b.providerInstanceId).toBe(a.providerInstanceId);
    expect(p.active()).toHaveLength(1);
  });

  it('fails with no_capacity at capacity, and frees it on terminate', async () => {
    const { p } = provider(1);
    const a = await p.launch(req('a'));
    const err = await p.launch(req('b')).catch((e: unknown) => e);
    expect(isProviderError(err) && err.kind).toBe('no_capacity');
    await p.terminate(a.providerInstanceId);
    await expect(p.launch(req('b'))).resolves.toMatchObject({ status: 'booting' });
  });

  it('an outage kills every host and fails every call with a transient 503 until it recovers', async () => {
    const { p } = provider();
    const a = await p.launch(req('a'));
    expect(p.fail()).toEqual([a.providerInstanceId]);
    const err = await p.list().catch((e: unknown) => e);
    expect(isProviderError(err) && [err.kind, err.status]).toEqual(['transient', 503]);
    expect(p.refused).toBe(1);
    p.recover();
    expect((await p.get(a.providerInstanceId))?.status).toBe('failed');
  });
});
