/**
 * JSON-line logger for the edge. Runtime-neutral (console only): pino needs Node streams, and Workers Logs
 * ingest `console.log` of one JSON object per line. Secrets never reach it: callers log key prefixes, never keys.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface EdgeLogger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  child(fields: Record<string, unknown>): EdgeLogger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go; default `console.log`. Tests pass a collector. */
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createLogger(options: LoggerOptions): EdgeLogger {
  const threshold = RANK[options.level];
  const write = options.write ?? ((line: string) => console.log(line));
  const base = { service: 'aiserve-edge', ...options.base };
  const emit = (level: Exclude<LogLevel, 'silent'>, fields: Record<string, unknown>, msg: string) => {
    if (RANK[level] < threshold) return;
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), ...base, msg };
    for (const [k, v] of Object.entries(fields)) line[k] = serialise(v);
    try {
      write(JSON.stringify(line));
    } catch {
      write(JSON.stringify({ level, time: line.time, ...base, msg, unserialisable: true }));
    }
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (fields) => createLogger({ ...options, base: { ...options.base, ...fields } }),
  };
}
