import { misses, type ScenarioResult } from './scenario.ts';
import type { SimResult } from './sim-result.ts';

const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(4)} %` : '—');
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** The summary a result file keeps (the timeline stays in the JSON, not the table). */
export function summarise(r: SimResult) {
  const rejected = r.rejected.queueFull + r.rejected.timedOut + r.rejected.noOrigin;
  return {
    policy: r.policy,
    costUsd: Math.round(r.costUsd * 100) / 100,
    instanceHours: Math.round(r.instanceHours * 10) / 10,
    peakInstances: r.peakInstances,
    requests: Math.round(r.requests),
    overSlo: Math.round(r.overSlo),
    overSloPct: pct(r.overSlo, r.requests),
    rejected: Math.round(rejected),
    rejectedDetail: {
      queueFull: Math.round(r.rejected.queueFull),
      timedOut: Math.round(r.rejected.timedOut),
      noOrigin: Math.round(r.rejected.noOrigin),
    },
    lostOnFailedHosts: Math.round(r.lostOnFailedHosts),
    missPct: pct(misses(r), r.requests),
    launches: r.launches,
    launchesFailed: r.launchesFailed,
    launchesByProvider: r.launchesByProvider,
    panicSeconds: r.panicSeconds,
  };
}

/** One markdown section per trace, for `bench/results/sim.md`. */
export function markdownSection(name: string, description: string, s: ScenarioResult): string {
  const a = summarise(s.autoscaler);
  const b = summarise(s.static);
  const lines = [
    `## ${name}`,
    '',
    description,
    '',
    `![instances and load over time](sim-${name}.svg)`,
    '',
    '| | autoscaler | static fleet sized for the peak |',
    '| --- | ---: | ---: |',
    `| GPU cost | $${a.costUsd.toFixed(2)} | $${b.costUsd.toFixed(2)} (${b.policy}) |`,
    `| instance-hours / peak instances | ${a.instanceHours} / ${a.peakInstances} | ${b.instanceHours} / ${b.peakInstances} |`,
    `| requests | ${int(a.requests)} | ${int(b.requests)} |`,
    `| served over the SLO | ${int(a.overSlo)} (${a.overSloPct}) | ${int(b.overSlo)} (${b.overSloPct}) |`,
    `| rejected (shed / timed out / no origin) | ${int(a.rejected)} (${a.rejectedDetail.queueFull} / ${a.rejectedDetail.timedOut} / ${a.rejectedDetail.noOrigin}) | ${int(b.rejected)} |`,
    `| lost on failed hosts | ${int(a.lostOnFailedHosts)} | ${int(b.lostOnFailedHosts)} |`,
    `| all misses (late + rejected) | ${a.missPct} | ${b.missPct} |`,
    `| launches (failed) | ${a.launches} (${a.launchesFailed}) ${JSON.stringify(a.launchesByProvider)} | ${b.launches} |`,
    `| seconds in panic mode | ${a.panicSeconds} | — |`,
    '',
    `Cost ratio autoscaler / static: **${s.costRatio.toFixed(3)}**.`,
  ];
  if (s.targets.length > 0) {
    lines.push('', '| target | met | figure |', '| --- | :---: | --- |');
    for (const t of s.targets) lines.push(`| ${t.name} | ${t.met ? 'yes' : '**no**'} | ${t.detail} |`);
  }
  return `${lines.join('\n')}\n`;
}
