import { isBrokenCircuitError } from 'cockatiel';
import { pruneSamples } from '../../workers/control/autoscaler/load-window.ts';
import {
  type AutoscalerMemory,
  INITIAL_MEMORY,
  type InstanceView,
  type LoadSample,
} from '../../workers/control/autoscaler/policy.ts';
import { placementOrder } from '../../workers/control/placement.ts';
import { createFailover } from '../../workers/control/providers/failover.ts';
import { isProviderError } from '../../workers/control/providers/types.ts';
import { Backlog } from './backlog.ts';
import type { Policy } from './policies.ts';
import { meanInflight, type ReplicaModel, replicaRate, waitTail } from './queue-model.ts';
import { poisson, seededRandom } from './rng.ts';
import { SimProvider } from './sim-provider.ts';
import type { SimResult, TimelinePoint } from './sim-result.ts';
import { durationS, rateAt, type Trace } from './trace.ts';

interface SimInstance {
  id: string;
  provider: string;
  price: number;
  state: 'booting' | 'ready' | 'draining' | 'gone' | 'dead';
  /** The state the registry/runner last knew, for dead hosts still visible until their record expires. */
  shownAs: 'booting' | 'ready';
  launchedAt: number;
  endedAt: number | null;
  visibleUntil: number;
  reportedInflight: number;
}

/**
 * Replays a trace second by second on a simulated clock. Per second: outages start or end, boots finish,
 * drained hosts terminate, arrivals join a fleet-wide FIFO backlog that the ready replicas serve at
 * `slots / serviceMs` each. A request served in the second it arrived misses the SLO with the M/M/c wait tail
 * at the per-replica load; one that waited a whole second or more has missed it. The origin sheds what exceeds
 * `queuePerInstance` per replica, the edge gives up after `deadlineMs`, and with no ready replica the edge has
 * nowhere to send (503). Heartbeats sample the load every `heartbeatS`; the policy runs every
 * `controlPeriodS` on what the registry shows (a dead host stays listed until its record expires), and
 * launches go through the real failover (breakers, retries, idempotent tokens) to simulated providers in
 * spread-placement order. Backoff sleeps take no simulated time.
 */
export async function simulate(
  trace: Trace,
  policy: Policy,
  options: { policyName: string; initialReplicas: number },
): Promise<SimResult> {
  const random = seededRandom(trace.seed);
  let nowMs = 0;
  const model: ReplicaModel = { slots: trace.instance.slots, serviceMs: trace.instance.serviceMs };
  const perReplica = replicaRate(model);
  const providers = trace.providers.map(
    (spec) => new SimProvider(spec, { now: () => nowMs, random, bootJitter: trace.bootJitter }),
  );
  const byName = new Map(providers.map((p) => [p.name, p]));
  const failover = createFailover({
    providers: providers.map((adapter) => ({ adapter })),
    now: () => nowMs,
    sleep: async () => {},
    random,
  });

  const instances = new Map<string, SimInstance>();
  const track = (provider: SimProvider, id: string, state: 'booting' | 'ready', t: number) => {
    instances.set(id, {
      id,
      provider: provider.name,
      price: provider.spec.hourlyCostUsd,
      state,
      shownAs: state,
      launchedAt: t,
      endedAt: null,
      visibleUntil: Number.POSITIVE_INFINITY,
      reportedInflight: 0,
    });
  };
  const alive = () => [...instances.values()].filter((i) => i.state === 'booting' || i.state === 'ready');
  const countOn = (name: string) => alive().filter((i) => i.provider === name).length;

  for (let k = 0; k < options.initialReplicas; k++) {
    const order = placementOrder(
      providers.map((p) => ({ name: p.name, hourlyCostUsd: p.spec.hourlyCostUsd, running: countOn(p.name) })),
      k + 1,
      trace.maxProviderShare,
    );
    const p = byName.get(order[0]!)!;
    track(p, p.preWarm().providerInstanceId, 'ready', 0);
  }

  const result: SimResult = {
    trace: trace.name,
    policy: options.policyName,
    durationS: durationS(trace),
    requests: 0,
    served: 0,
    overSlo: 0,
    rejected: { queueFull: 0, timedOut: 0, noOrigin: 0 },
    lostOnFailedHosts: 0,
    costUsd: 0,
    instanceHours: 0,
    peakInstances: 0,
    launches: 0,
    launchesFailed: 0,
    launchesByProvider: Object.fromEntries(providers.map((p) => [p.name, 0])),
    panicSeconds: 0,
    timeline: [],
    outages: trace.outages,
  };

  const backlog = new Backlog();
  let samples: LoadSample[] = [];
  let memory: AutoscalerMemory = INITIAL_MEMORY;
  let lastDesired = options.initialReplicas;
  let panic = false;
  let minute: TimelinePoint = {
    t: 0,
    rate: 0,
    ready: 0,
    booting: 0,
    desired: 0,
    panic: false,
    overSlo: 0,
    requests: 0,
  };

  const end = durationS(trace);
  for (let t = 0; t < end; t++) {
    nowMs = t * 1000;
    const lambda = rateAt(trace, t);
    const readyBefore = [...instances.values()].filter((i) => i.state === 'ready').length;
    const lambdaPer = readyBefore > 0 ? lambda / readyBefore : 0;

    // Outages: the provider's hosts die with the work on them; its API fails until it recovers.
    for (const o of trace.outages) {
      const p = byName.get(o.provider)!;
      if (t === Math.floor(o.fromS)) {
        const died = new Set(p.fail());
        let deadReady = 0;
        for (const inst of instances.values()) {
          if (!died.has(inst.id)) continue;
          if (inst.state === 'ready') deadReady++;
          inst.state = 'dead';
          inst.endedAt = t;
          inst.visibleUntil = t + trace.registryTtlS;
        }
        if (deadReady > 0 && readyBefore > 0) {
          const share = deadReady / readyBefore;
          const fromBacklog = backlog.loseShare(share);
          result.lostOnFailedHosts +=
            fromBacklog + deadReady * meanInflight(model, Math.min(lambdaPer, perReplica));
        }
      }
      if (t === Math.floor(o.toS)) p.recover();
    }

    for (const p of providers)
      for (const id of p.advance()) {
        const inst = instances.get(id);
        if (inst && inst.state === 'booting') {
          inst.state = 'ready';
          inst.shownAs = 'ready';
        }
      }
    for (const inst of instances.values()) {
      if (inst.state === 'draining') {
        // Idle when picked, so it is gone within the second; terminate through the breaker like the runner.
        inst.state = 'gone';
        inst.endedAt = t;
        await failover.call(inst.provider, (a) => a.terminate(inst.id)).catch(() => {});
      }
    }

    // Traffic.
    const ready = [...instances.values()].filter((i) => i.state === 'ready').length;
    result.requests += lambda;
    minute.requests += lambda;
    if (ready === 0) {
      result.rejected.noOrigin += lambda;
    } else {
      backlog.arrive(t, lambda);
      const offeredPer = Math.min(lambda, ready * perReplica) / ready;
      backlog.serve(t, ready * perReplica, (x, waitedMs) => {
        const late = waitedMs > 0 ? 1 : waitTail(model, offeredPer, trace.sloMs - trace.instance.serviceMs);
        result.overSlo += x * late;
        minute.overSlo += x * late;
        result.served += x;
      });
      backlog.shedAbove(ready * trace.instance.queuePerInstance, (shed) => {
        result.rejected.queueFull += shed;
      });
    }
    backlog.expire(t, trace.deadlineMs, (count) => {
      result.rejected.timedOut += count;
    });

    // Heartbeats: each ready replica reports its instantaneous in-flight count.
    if (t % trace.heartbeatS === 0) {
      const q = backlog.total();
      const per = ready > 0 ? meanInflight(model, Math.min(lambda / ready, perReplica)) : 0;
      let total = 0;
      for (const inst of instances.values()) {
        if (inst.state !== 'ready') continue;
        inst.reportedInflight = poisson(per, random) + Math.round(q / Math.max(1, ready));
        total += inst.reportedInflight;
      }
      samples.push({ at: nowMs, inflight: total });
    }

    // Control loop.
    if (t % trace.controlPeriodS === 0 && t > 0) {
      const views: InstanceView[] = [];
      for (const inst of instances.values()) {
        const visibleDead = inst.state === 'dead' && t < inst.visibleUntil;
        if (inst.state !== 'booting' && inst.state !== 'ready' && inst.state !== 'draining' && !visibleDead)
          continue;
        views.push({
          id: inst.id,
          state: visibleDead ? inst.shownAs : (inst.state as InstanceView['state']),
          inflight: inst.state === 'booting' ? 0 : inst.reportedInflight,
          provider: inst.provider,
          hourlyCostUsd: inst.price,
          launchedAt: inst.launchedAt * 1000,
        });
      }
      const breakers = failover.breakerStates();
      // The runner keeps the last ten minutes of heartbeat totals (more than any window needs).
      samples = pruneSamples(samples, nowMs, 600_000);
      const step = policy({
        now: nowMs,
        samples,
        instances: views,
        providers: providers.map((p) => ({
          name: p.name,
          available: breakers[p.name] !== 'open',
          bootMs: p.spec.bootMs,
        })),
        memory,
      });
      memory = step.memory;
      lastDesired = step.desired;
      panic = step.panic;
      for (const id of step.drain) {
        const inst = instances.get(id);
        if (inst && (inst.state === 'ready' || inst.state === 'booting')) inst.state = 'draining';
        else if (inst && inst.state === 'dead') inst.visibleUntil = t;
      }
      for (let k = 0; k < step.add; k++) {
        const order = placementOrder(
          providers.map((p) => ({
            name: p.name,
            hourlyCostUsd: p.spec.hourlyCostUsd,
            running: countOn(p.name),
          })),
          alive().length + 1,
          trace.maxProviderShare,
        );
        let launched = false;
        for (const name of order) {
          try {
            const inst = await failover.call(name, (a) =>
              a.launch({
                clientToken: `sim-${t}-${k}`,
                gpuType: 'A100-80GB',
                image: 'aiserve-origin',
                env: {},
              }),
            );
            track(byName.get(name)!, inst.providerInstanceId, 'booting', t);
            result.launches++;
            result.launchesByProvider[name] = (result.launchesByProvider[name] ?? 0) + 1;
            launched = true;
            break;
          } catch (err) {
            if (!isBrokenCircuitError(err) && !isProviderError(err)) throw err;
          }
        }
        if (!launched) result.launchesFailed++;
      }
    }
    const live = alive().length;
    result.peakInstances = Math.max(result.peakInstances, live);
    if (panic) result.panicSeconds++;

    minute.rate += lambda / 60;
    if (t % 60 === 59 || t === end - 1) {
      minute.t = t - (t % 60);
      minute.ready = [...instances.values()].filter((i) => i.state === 'ready').length;
      minute.booting = [...instances.values()].filter((i) => i.state === 'booting').length;
      minute.desired = lastDesired;
      minute.panic = panic;
      result.timeline.push(minute);
      minute = { t: t + 1, rate: 0, ready: 0, booting: 0, desired: 0, panic: false, overSlo: 0, requests: 0 };
    }
  }

  for (const inst of instances.values()) {
    const until = inst.endedAt ?? end;
    const hours = (until - inst.launchedAt) / 3600;
    result.instanceHours += hours;
    result.costUsd += hours * inst.price;
  }
  return result;
}
