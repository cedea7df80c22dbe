import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScriptFlagTranslator, stripUnknownFlags } from '../../../../scripts/dev/upstash/lua-flags.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('stripUnknownFlags', () => {
  it('removes flags Redis does not know and keeps the ones it does', () => {
    expect(stripUnknownFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('#!lua\nreturn 1');
    expect(stripUnknownFlags('#!lua flags=allow-key-locking,no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
    expect(stripUnknownFlags('#!lua name=lib flags=allow-key-locking\nreturn 1')).toBe(
      '#!lua name=lib\nreturn 1',
    );
  });

  it('leaves scripts without a shebang or with only Redis flags untouched', () => {
    expect(stripUnknownFlags('return 1')).toBe('return 1');
    expect(stripUnknownFlags('#!lua flags=no-writes,allow-stale\nreturn 1')).toBe(
      '#!lua flags=no-writes,allow-stale\nreturn 1',
    );
    expect(stripUnknownFlags('#!lua\nreturn 1')).toBe('#!lua\nreturn 1');
  });
});

describe('ScriptFlagTranslator', () => {
  const original = '#!lua flags=allow-key-locking\nreturn 1';
  const rewritten = '#!lua\nreturn 1';

  it('maps EVALSHA of the script as the client sent it to the rewritten script once it has been seen', () => {
    const t = new ScriptFlagTranslator();
    expect(t.translate(['EVALSHA', sha1(original), '0']).cmd).toEqual(['EVALSHA', sha1(original), '0']);
    expect(t.translate(['EVAL', original, '0']).cmd).toEqual(['EVAL', rewritten, '0']);
    expect(t.translate(['EVALSHA', sha1(original), '0']).cmd).toEqual(['EVALSHA', sha1(rewritten), '0']);
    expect(t.translate(['SCRIPT', 'EXISTS', sha1(original), 'abc']).cmd).toEqual([
      'SCRIPT',
      'EXISTS',
      sha1(rewritten),
      'abc',
    ]);
  });

  it('answers SCRIPT LOAD with the SHA-1 of the script as sent, not the rewritten one', () => {
    const t = new ScriptFlagTranslator();
    const out = t.translate(['SCRIPT', 'LOAD', original]);
    expect(out.cmd).toEqual(['SCRIPT', 'LOAD', rewritten]);
    expect(String(out.reply?.(Buffer.from(sha1(rewritten))))).toBe(sha1(original));
    expect(t.translate(['SCRIPT', 'LOAD', 'return 2']).reply).toBeUndefined();
  });
});
