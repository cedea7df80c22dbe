import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** State letter and process group of every process, from /proc (Linux); null where /proc is absent. */
function processTable(): { pid: number; state: string; pgrp: number }[] | null {
  if (!existsSync('/proc/self/stat')) return null;
  const rows: { pid: number; state: string; pgrp: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    rows.push({ pid: Number(entry), state: fields[0] ?? '?', pgrp: Number(fields[2]) });
  }
  return rows;
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process still runs. An orphan is re-parented to PID 1, and where PID 1 does not reap (a bare
 * container), a dead one stays a zombie that `kill(pid, 0)` still reports: zombies run nothing, so on Linux
 * they do not count.
 */
export function processAlive(pid: number): boolean {
  const table = processTable();
  if (!table) return signalZero(pid);
  return table.some((p) => p.pid === pid && p.state !== 'Z');
}

/** Whether any process of the group `pgid` still runs (zombies excluded, as above). */
export function groupAlive(pgid: number): boolean {
  const table = processTable();
  if (!table) return signalZero(-pgid);
  return table.some((p) => p.pgrp === pgid && p.state !== 'Z');
}

/** SIGKILL is delivered asynchronously: waits (bounded) for the group to finish; true once it has. */
export async function groupGone(pgid: number, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
