import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { loggableDbError } from '../../../drizzle/queries/pg-errors.ts';

const SECRET = 'hash-of-a-key-secret-0123456789abcdef';

describe('loggableDbError', () => {
  it("keeps the server's SQLSTATE and message and drops the wrapper's parameters", () => {
    const server = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
    });
    const wrapped = new DrizzleQueryError('insert into api_keys values ($1)', [SECRET], server);
    const logged = loggableDbError(wrapped);
    expect(logged).toEqual({ sqlstate: '23505', error: 'duplicate key value violates unique constraint' });
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });

  it('names the transport failure of a call that never reached the server, without its parameters', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' });
    const logged = loggableDbError(new DrizzleQueryError('select $1', [SECRET], refused));
    expect(logged).toEqual({ error: 'Error: connect ECONNREFUSED 127.0.0.1:5999' });
    expect(JSON.stringify(logged)).not.toContain(SECRET);
  });

  it('says only the wrapper type when there is no cause to name', () => {
    const logged = loggableDbError(new DrizzleQueryError('select $1', [SECRET]));
    expect(logged).toEqual({ error: 'DrizzleQueryError' });
  });
});
