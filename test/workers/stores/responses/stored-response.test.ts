import { describe, expect, it } from 'vitest';
import { type StoredResponse, withResponseId } from '../../../../workers/stores/responses/stored-response.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function stored(json: object): StoredResponse {
  return {
    status: 200,
    headers: [['content-type', 'application/json']],
    body: enc.encode(JSON.stringify(json)),
    storedAt: 0,
  };
}

const idOf = (value: StoredResponse) => (JSON.parse(dec.decode(value.body)) as { id?: string }).id;

describe('withResponseId', () => {
  it('gives each caller its own id, however many times one stored answer is served, and in any order', () => {
    const value = stored({ id: 'first', model_name: 'm', outputs: [] });
    expect(withResponseId(value, 'first')).toBe(value);
    expect(idOf(withResponseId(value, 'second'))).toBe('second');
    expect(idOf(withResponseId(value, undefined))).toBeUndefined();
    expect(withResponseId(value, 'first')).toBe(value);
    expect(idOf(withResponseId(value, 'third'))).toBe('third');
    // The stored answer itself is never changed.
    expect(idOf(value)).toBe('first');
  });

  it('returns an answer stored without an id unchanged to callers without one', () => {
    const value = stored({ model_name: 'm', outputs: [] });
    expect(withResponseId(value, undefined)).toBe(value);
    expect(withResponseId(value, undefined)).toBe(value);
    expect(idOf(withResponseId(value, 'x'))).toBe('x');
  });

  it('leaves a body that is not JSON alone', () => {
    const value: StoredResponse = { ...stored({}), body: enc.encode('not json') };
    expect(withResponseId(value, 'x')).toBe(value);
    expect(withResponseId(value, 'y')).toBe(value);
  });
});
