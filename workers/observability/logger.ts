/**
 * JSON-line logger for the edge. Runtime-neutral (console only): pino needs Node streams, and Workers Logs
 * ingest `console.log` of one JSON object per line. Secrets never reach it: callers log key prefixes, never keys.
 */
type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

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

interface Sink {
  threshold: number;
  write: (line: string) => void;
}

// A class rather than closures: the edge makes a child per request, and most never log a line.
class JsonLogger implements EdgeLogger {
  readonly #sink: Sink;
  readonly #base: Record<string, unknown>;

  constructor(sink: Sink, base: Record<string, unknown>) {
    this.#sink = sink;
    this.#base = base;
  }

  #emit(level: Exclude<LogLevel, 'silent'>, fields: Record<string, unknown>, msg: string): void {
    if (RANK[level] < this.#sink.threshold) return;
    const line: Record<string, unknown> = { level, time: new Date().toISOString(), ...this.#base, msg };
    for (const [k, v] of Object.entries(fields)) line[k] = serialise(v);
    try {
      this.#sink.write(JSON.stringify(line));
    } catch {
      this.#sink.write(JSON.stringify({ level, time: line.time, ...this.#base, msg, unserialisable: true }));
    }
  }

  debug(fields: Record<string, unknown>, msg: string): void {
    this.#emit('debug', fields, msg);
  }
  info(fields: Record<string, unknown>, msg: string): void {
    this.#emit('info', fields, msg);
  }
  warn(fields: Record<string, unknown>, msg: string): void {
    this.#emit('warn', fields, msg);
  }
  error(fields: Record<string, unknown>, msg: string): void {
    this.#emit('error', fields, msg);
  }
  child(fields: Record<string, unknown>): EdgeLogger {
    return new JsonLogger(this.#sink, { ...this.#base, ...fields });
  }
}

export function createLogger(options: LoggerOptions): EdgeLogger {
  return new JsonLogger(
    { threshold: RANK[options.level], write: options.write ?? ((line: string) => console.log(line)) },
    { service: 'aiserve-edge', ...options.base },
  );
}
