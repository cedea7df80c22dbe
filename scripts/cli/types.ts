import type { Redis } from '@upstash/redis';
import type { Database } from '../../drizzle/client/types.ts';

type FlagType = 'string' | 'boolean' | 'int';

export interface FlagSpec {
  type: FlagType;
  description: string;
  required?: boolean;
  /** Allowed values for a string flag (checked before the command runs). */
  choices?: readonly string[];
}

interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface CommandInput {
  positionals: string[];
  flags: FlagValues;
}

/** What a command hands back: `data` is printed as JSON with --json, `text` lines otherwise. */
interface CommandResult {
  data: unknown;
  text: string[];
  /** Lines for stderr even on success (warnings, "shown once" notices). */
  warnings?: string[];
}

export interface CliContext {
  env: Record<string, string | undefined>;
  /** The database, opened on first use (commands that fail on arguments never connect). */
  db(): Promise<Database>;
  /** Upstash REST client when UPSTASH_REDIS_REST_URL/TOKEN are set (or the local stack wrote them), else null. */
  redis(): Redis | null;
  /** Who the audit log records: AISERVE_ACTOR, else `cli:<os user>`. */
  actor: string;
  /** A progress line for long work, on stderr (stdout stays the result, JSON included). */
  progress(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  positionals?: PositionalSpec[];
  flags?: Record<string, FlagSpec>;
  /** Extra help text (examples). */
  details?: string;
  run(ctx: CliContext, input: CommandInput): Promise<CommandResult>;
}

/** A top-level noun (`tenants`, `keys`, …). Teams add theirs to commands/index.ts. */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}
