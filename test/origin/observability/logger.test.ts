import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, requestLogger } from '../../../origin/observability/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON with the service, name, level label and request context', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', name: 'http', destination: stream });
    logger.debug('hidden');
    requestLogger(logger, { requestId: 'r1', traceId: 't1' }).info({ model: 'm' }, 'done');
    requestLogger(logger, { requestId: 'r2' }).warn('no trace');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      service: 'aiserve-origin',
      name: 'http',
      level: 'info',
      requestId: 'r1',
      traceId: 't1',
      model: 'm',
      msg: 'done',
    });
    expect(typeof lines[0]?.['time']).toBe('string');
    expect(lines[1]).toMatchObject({ requestId: 'r2', level: 'warn' });
    expect(lines[1]).not.toHaveProperty('traceId');
  });

  it('redacts signatures in logged headers', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', destination: stream });
    logger.info({ headers: { 'x-aiserve-signature': 'abc', host: 'h' } }, 'req');
    expect(lines[0]?.['headers']).toEqual({ 'x-aiserve-signature': '[redacted]', host: 'h' });
  });
});
