import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time per thread of a process, from Linux /proc/<pid>/task/<tid>/stat, so the benchmark can say where the
 * origin's CPU goes: its main thread (HTTP, codecs, batching) versus the onnxruntime worker thread. Every Node
 * thread is named "node", so threads are told apart by role: the main thread is the one whose tid is the pid;
 * with one model instance and intra-op threads = 1 the busiest other thread is the onnxruntime session worker;
 * the rest are V8 GC helpers, libuv and the tsx loader. Returns null off Linux (the report then says n/a).
 */

export interface ThreadCpuSnapshot {
  pid: number;
  /** Clock ticks per second of the utime/stime fields. */
  ticksPerSecond: number;
  /** tid → utime + stime, in ticks. */
  ticks: Map<number, number>;
}

export interface ThreadCpuShares {
  /** CPU seconds over the window. */
  mainSeconds: number;
  busiestOtherSeconds: number;
  restSeconds: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      const n = Number(
        execFileSync('getconf', ['CLK_TCK'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString(),
      );
      ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime (ticks) from one /proc stat line; the command name may itself contain spaces and ')'. */
function parseStatTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

export function readThreadCpu(pid: number | undefined): ThreadCpuSnapshot | null {
  if (pid === undefined || process.platform !== 'linux') return null;
  const ticks = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) {
    try {
      const t = parseStatTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (t !== null) ticks.set(Number(tid), t);
    } catch {
      // The thread ended between readdir and read: it no longer counts.
    }
  }
  return ticks.size > 0 ? { pid, ticksPerSecond: clockTicks(), ticks } : null;
}

/** CPU seconds per role between two snapshots of the same process; threads born in between count from 0. */
export function threadCpuShares(
  before: ThreadCpuSnapshot | null,
  after: ThreadCpuSnapshot | null,
): ThreadCpuShares | null {
  if (!before || !after || before.pid !== after.pid) return null;
  let main = 0;
  let busiest = 0;
  let total = 0;
  for (const [tid, t1] of after.ticks) {
    const d = Math.max(0, t1 - (before.ticks.get(tid) ?? 0));
    total += d;
    if (tid === after.pid) main = d;
    else busiest = Math.max(busiest, d);
  }
  const s = (ticks: number) => ticks / after.ticksPerSecond;
  return { mainSeconds: s(main), busiestOtherSeconds: s(busiest), restSeconds: s(total - main - busiest) };
}
