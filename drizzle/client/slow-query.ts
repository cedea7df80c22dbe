import type { SlowQueryLog } from './types.ts';

type QueryFn = (...args: unknown[]) => unknown;

const WRAPPED = Symbol.for('aiserve.db.slowQueryWrapped');

/** The SQL text of a query call, whatever shape the driver was called with (string or `{ text }` config). */
function sqlTextOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && 'text' in arg && typeof arg.text === 'string') return arg.text;
  if (arg && typeof arg === 'object' && 'sql' in arg && typeof arg.sql === 'string') return arg.sql;
  return '(unknown statement)';
}

/**
 * Replaces `target[method]` with a timed version that reports calls slower than `thresholdMs`. Only the
 * first argument (the SQL text) is reported: the values array stays out of logs because it can hold key
 * hashes, tenant data or anything else a query binds.
 */
export function timeQueries(
  target: object,
  method: string,
  options: { thresholdMs: number; label: string; log: SlowQueryLog; now?: () => number },
): void {
  const holder = target as Record<string, unknown> & { [WRAPPED]?: Set<string> };
  const original = holder[method];
  if (typeof original !== 'function') return;
  const done = holder[WRAPPED] ?? new Set<string>();
  if (done.has(method)) return;
  done.add(method);
  holder[WRAPPED] = done;
  const now = options.now ?? (() => performance.now());
  const fn = original as QueryFn;
  holder[method] = function timedQuery(this: unknown, ...args: unknown[]) {
    const started = now();
    const report = () => {
      const durationMs = now() - started;
      if (durationMs >= options.thresholdMs) {
        options.log({
          durationMs: Math.round(durationMs * 10) / 10,
          sql: sqlTextOf(args[0]),
          target: options.label,
        });
      }
    };
    // node-postgres' pool.query calls client.query with a callback rather than awaiting a promise.
    const last = args.length - 1;
    if (last >= 0 && typeof args[last] === 'function') {
      const callback = args[last] as QueryFn;
      args[last] = (...cbArgs: unknown[]) => {
        report();
        return callback(...cbArgs);
      };
      return fn.apply(this, args);
    }
    const result = fn.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(report, report);
    }
    return result;
  };
}

/** Default sink: one JSON line on stderr (works in Node and workerd, where console is the log pipe). */
export const consoleSlowQueryLog: SlowQueryLog = (entry) => {
  console.warn(JSON.stringify({ level: 'warn', msg: 'slow query', ...entry }));
};
