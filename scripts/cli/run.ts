import { ConfigError } from '../../shared/config/load.ts';
import { isAppError } from '../../shared/errors/index.ts';
import { UsageError } from '../usage-error.ts';
import { GLOBAL_FLAGS, parseCommandArgs } from './args.ts';
import { createCliContext, type OpenedContext } from './context.ts';
import { databaseProblem, EXIT, exitCodeOf } from './errors.ts';
import type { Command, CommandGroup, FlagSpec } from './types.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

const PROGRAM = 'npm run cli --';

function groupsHelp(groups: CommandGroup[]): string {
  const width = Math.max(...groups.map((g) => g.name.length));
  return [
    `usage: ${PROGRAM} <group> <command> [arguments] [--json] [--help]`,
    '',
    'groups:',
    ...groups.map((g) => `  ${g.name.padEnd(width)}  ${g.summary}`),
    '',
    `Run \`${PROGRAM} <group> --help\` for its commands.`,
  ].join('\n');
}

function groupHelp(group: CommandGroup): string {
  const width = Math.max(...group.commands.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} ${group.name} <command> [arguments] [--json] [--help]`,
    '',
    `${group.summary}`,
    '',
    'commands:',
    ...group.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

function usageLine(group: CommandGroup, command: Command): string {
  const pos = (command.positionals ?? []).map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`));
  const flags = Object.entries(command.flags ?? {}).map(([n, s]) => {
    const value =
      s.type === 'boolean' ? '' : ` <${s.choices ? s.choices.join('|') : s.type === 'int' ? 'n' : 'value'}>`;
    return s.required ? `--${n}${value}` : `[--${n}${value}]`;
  });
  return `usage: ${PROGRAM} ${[group.name, command.name, ...pos, ...flags, '[--json]'].join(' ')}`;
}

function commandHelp(group: CommandGroup, command: Command): string {
  const flagLines = Object.entries({ ...(command.flags ?? {}), ...GLOBAL_FLAGS } as Record<
    string,
    FlagSpec
  >).map(([n, s]) => `  --${n}${s.required ? ' (required)' : ''}  ${s.description}`);
  const posLines = (command.positionals ?? []).map((p) => `  <${p.name}>  ${p.description}`);
  return [
    usageLine(group, command),
    '',
    command.summary,
    ...(posLines.length ? ['', 'arguments:', ...posLines] : []),
    '',
    'options:',
    ...flagLines,
    ...(command.details ? ['', command.details] : []),
  ].join('\n');
}

function safeMessage(err: unknown): string {
  // drizzle's DrizzleQueryError message embeds bound parameter values: report its cause instead.
  if (err instanceof Error && err.name === 'DrizzleQueryError' && err.cause instanceof Error)
    return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Runs one CLI invocation and returns its exit code (the entry only wires process I/O). */
export async function runCli(argv: string[], groups: CommandGroup[], io: CliIo): Promise<number> {
  const [groupName, commandName, ...rest] = argv;
  const wantsJson = argv.includes('--json');
  const fail = (code: number, errCode: string, message: string, usage?: string) => {
    if (wantsJson) io.stderr(JSON.stringify({ error: message, code: errCode }));
    else io.stderr(`error: ${message}${usage ? `\n${usage}` : ''}`);
    return code;
  };

  if (!groupName || groupName === '--help' || groupName === 'help') {
    io.stdout(groupsHelp(groups));
    return groupName ? EXIT.OK : EXIT.USAGE;
  }
  const group = groups.find((g) => g.name === groupName);
  if (!group) {
    return fail(
      EXIT.USAGE,
      'INVALID_REQUEST',
      `unknown group "${groupName}" (groups: ${groups.map((g) => g.name).join(', ')})`,
    );
  }
  if (!commandName || commandName === '--help' || commandName === 'help') {
    io.stdout(groupHelp(group));
    return commandName ? EXIT.OK : EXIT.USAGE;
  }
  const command = group.commands.find((c) => c.name === commandName);
  if (!command) {
    return fail(
      EXIT.USAGE,
      'INVALID_REQUEST',
      `unknown command "${group.name} ${commandName}" (commands: ${group.commands.map((c) => c.name).join(', ')})`,
    );
  }

  let ctx: OpenedContext | undefined;
  try {
    const input = parseCommandArgs(command, rest);
    if (input.flags['help']) {
      io.stdout(commandHelp(group, command));
      return EXIT.OK;
    }
    ctx = createCliContext(io.env, (line) => io.stderr(line));
    const result = await command.run(ctx, input);
    if (input.flags['json']) io.stdout(JSON.stringify(result.data, null, 2));
    else if (result.text.length) io.stdout(result.text.join('\n'));
    for (const w of result.warnings ?? [])
      io.stderr(wantsJson ? JSON.stringify({ warning: w }) : `warning: ${w}`);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof UsageError)
      return fail(EXIT.USAGE, 'INVALID_REQUEST', err.message, usageLine(group, command));
    if (err instanceof ConfigError) return fail(EXIT.USAGE, 'INVALID_REQUEST', err.message);
    if (isAppError(err)) {
      const dbProblem = ctx && err.code === 'INTERNAL' ? databaseProblem(err.cause, ctx.databaseUrl) : null;
      if (dbProblem) return fail(EXIT.UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE', dbProblem);
      return fail(exitCodeOf(err), err.code, err.message);
    }
    const dbProblem = ctx ? databaseProblem(err, ctx.databaseUrl) : null;
    if (dbProblem) return fail(EXIT.UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE', dbProblem);
    return fail(EXIT.INTERNAL, 'INTERNAL', `unexpected failure: ${safeMessage(err)}`);
  } finally {
    await ctx?.close();
  }
}
