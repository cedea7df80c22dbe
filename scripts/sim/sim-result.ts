/** What one simulated run measured: totals, and one timeline point per simulated minute. */
export interface TimelinePoint {
  t: number;
  rate: number;
  ready: number;
  booting: number;
  desired: number;
  panic: boolean;
  overSlo: number;
  requests: number;
}

export interface SimResult {
  trace: string;
  policy: string;
  durationS: number;
  requests: number;
  served: number;
  overSlo: number;
  rejected: { queueFull: number; timedOut: number; noOrigin: number };
  lostOnFailedHosts: number;
  costUsd: number;
  instanceHours: number;
  peakInstances: number;
  launches: number;
  launchesFailed: number;
  launchesByProvider: Record<string, number>;
  panicSeconds: number;
  timeline: TimelinePoint[];
  outages: { provider: string; fromS: number; toS: number }[];
}
