import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Component name, rendered as `name`. */
  name?: string;
  /** Default: stdout (synchronous writes: nothing lost on a crash). Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/** JSON lines to stdout, `service: aiserve-origin` on every line, ISO timestamps, secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      ...(options.name ? { name: options.name } : {}),
      base: { service: 'aiserve-origin' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'headers.authorization',
          'headers["x-aiserve-signature"]',
          'req.headers.authorization',
          'req.headers["x-aiserve-signature"]',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}

export interface RequestLogContext {
  requestId: string;
  traceId?: string | null;
  [key: string]: unknown;
}

/** A child logger whose every line carries `requestId` (and `traceId` when known). */
export function requestLogger(logger: Logger, context: RequestLogContext): Logger {
  const { traceId, ...rest } = context;
  return logger.child(traceId ? { ...rest, traceId } : rest);
}
