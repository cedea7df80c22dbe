import { UsageError } from '../usage-error.ts';
import type { Command, CommandInput, FlagSpec, FlagValues } from './types.ts';

/** Flags every command accepts. */
export const GLOBAL_FLAGS = {
  json: { type: 'boolean', description: 'print the result as JSON on stdout' },
  help: { type: 'boolean', description: 'show help for this command' },
} as const;

/**
 * Parses `[positionals] [--flag value | --flag=value | --bool]` against the command's declared flags.
 * Unknown flags, missing values, bad integers, values outside `choices` and missing required flags or
 * positionals are UsageErrors, reported before anything touches the database.
 */
export function parseCommandArgs(command: Command, argv: string[]): CommandInput {
  const specs = { ...GLOBAL_FLAGS, ...(command.flags ?? {}) };
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name as keyof typeof specs];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    let raw: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.type === 'boolean') {
      if (raw === undefined) {
        flags[name] = true;
        continue;
      }
      flags[name] = parseBool(`--${name}`, raw);
      continue;
    }
    if (raw === undefined) {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    if (spec.type === 'int') {
      flags[name] = parseInteger(`--${name}`, raw);
    } else {
      const choices = (spec as FlagSpec).choices;
      if (choices && !choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${choices.join(', ')} (got "${raw}")`);
      }
      flags[name] = raw;
    }
  }
  if (flags['help']) return { positionals, flags };
  for (const [name, spec] of Object.entries(command.flags ?? {})) {
    if (spec.required && flags[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  const declared = command.positionals ?? [];
  for (const [i, p] of declared.entries()) {
    if (p.required && positionals[i] === undefined) throw new UsageError(`<${p.name}> is required`);
  }
  if (positionals.length > declared.length) {
    throw new UsageError(`unexpected argument "${positionals[declared.length]}"`);
  }
  return { positionals, flags };
}

export function parseBool(what: string, raw: string): boolean {
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new UsageError(`${what} must be true or false (got "${raw}")`);
}

function parseInteger(what: string, raw: string): number {
  if (!/^-?\d+$/.test(raw)) throw new UsageError(`${what} must be a whole number (got "${raw}")`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} is out of range (got "${raw}")`);
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `15m`, `24h`, `30d`, or plain seconds. */
export function parseDurationSeconds(what: string, raw: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(raw);
  if (!m) throw new UsageError(`${what} must be a duration like 90s, 15m, 24h or 30d (got "${raw}")`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
  if (!Number.isSafeInteger(seconds)) throw new UsageError(`${what} is out of range (got "${raw}")`);
  return seconds;
}
