import { createHash } from 'node:crypto';
import type { RedisCommand } from './commands.ts';

/**
 * Upstash accepts script flags that open-source Redis refuses: `@upstash/ratelimit` starts every script with
 * `#!lua flags=allow-key-locking`, which Redis 7 answers with "ERR Unexpected flag in script shebang". The
 * bridge drops the flags Redis does not know before a script reaches it, and keeps the client's view of the
 * script identity: SCRIPT LOAD answers the SHA-1 of the script as sent, and EVALSHA with that SHA-1 runs the
 * rewritten script. (Only the unknown flags are dropped; Redis' own flags keep their meaning.)
 */
const REDIS_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** The script with unknown shebang flags removed, or the same string when there is nothing to change. */
export function stripUnknownFlags(script: string): string {
  const m = /^#!lua([^\n]*)/.exec(script);
  if (!m) return script;
  const header = m[1]!;
  const flagsMatch = /(^|\s)flags=(\S*)/.exec(header);
  if (!flagsMatch) return script;
  const kept = flagsMatch[2]!.split(',').filter((f) => REDIS_FLAGS.has(f));
  const all = flagsMatch[2]!.split(',').filter(Boolean);
  if (kept.length === all.length) return script;
  const newHeader = header.replace(
    flagsMatch[0],
    kept.length ? `${flagsMatch[1]}flags=${kept.join(',')}` : '',
  );
  return `#!lua${newHeader}${script.slice(m[0].length)}`;
}

export interface Translated {
  cmd: RedisCommand;
  /** Maps Redis' reply back to what the client expects (SCRIPT LOAD: the SHA-1 of the script it sent). */
  reply?: (value: unknown) => unknown;
}

export class ScriptFlagTranslator {
  /** SHA-1 of a script as the client sent it → SHA-1 of the script Redis actually holds. */
  #shas = new Map<string, string>();

  translate(cmd: RedisCommand): Translated {
    const name = cmd[0]!.toLowerCase();
    if ((name === 'eval' || name === 'eval_ro') && cmd.length > 1) {
      return { cmd: [cmd[0]!, this.#rewrite(cmd[1]!), ...cmd.slice(2)] };
    }
    if ((name === 'evalsha' || name === 'evalsha_ro') && cmd.length > 1) {
      const mapped = this.#shas.get(cmd[1]!.toLowerCase());
      return mapped ? { cmd: [cmd[0]!, mapped, ...cmd.slice(2)] } : { cmd };
    }
    if (name === 'script' && cmd.length > 2) {
      const sub = cmd[1]!.toLowerCase();
      if (sub === 'load') {
        const original = cmd[2]!;
        const rewritten = this.#rewrite(original);
        if (rewritten === original) return { cmd };
        const originalSha = sha1(original);
        return { cmd: [cmd[0]!, cmd[1]!, rewritten], reply: () => Buffer.from(originalSha) };
      }
      if (sub === 'exists') {
        return { cmd: [cmd[0]!, cmd[1]!, ...cmd.slice(2).map((s) => this.#shas.get(s.toLowerCase()) ?? s)] };
      }
    }
    return { cmd };
  }

  #rewrite(script: string): string {
    const rewritten = stripUnknownFlags(script);
    if (rewritten !== script) this.#shas.set(sha1(script), sha1(rewritten));
    return rewritten;
  }
}
