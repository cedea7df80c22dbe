import { Command, Redis } from 'ioredis';
import { isBlocking, type RedisCommand } from './commands.ts';
import { ScriptFlagTranslator, type Translated } from './lua-flags.ts';

/**
 * ioredis rewrites some replies by command name (HGETALL into an object, XREADGROUP and WITHSCORES replies into
 * pairs). Upstash sends Redis' own reply shape, so the bridge sends commands that skip those transformers and
 * keep strings as Buffers (binary-safe until the encoder decides).
 */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

function mapReply(o: Outcome, t: Translated): Outcome {
  return o.ok && t.reply ? { ok: true, value: t.reply(o.value) } : o;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

const settle = (p: Promise<unknown>): Promise<Outcome> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({
      ok: false as const,
      error: error instanceof Error ? error : new Error(String(error)),
    }),
  );

/**
 * Runs Upstash-shaped requests on one shared ioredis connection. Commands of one request are written in a single
 * synchronous run, so nothing from another HTTP request can land between them: that keeps a MULTI … EXEC block
 * atomic on the shared connection. A request with a blocking command gets a short-lived connection of its own.
 */
export class RedisExecutor {
  #redis: Redis;
  #scripts = new ScriptFlagTranslator();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  static async connect(redisUrl: string): Promise<RedisExecutor> {
    const redis = new Redis(redisUrl, {
      lazyConnect: true,
      // Upstash answers in RESP2 shapes; under RESP3 (ioredis' default) XREADGROUP would come back as a map
      // flattened to [stream, entries] and WITHSCORES replies as nested pairs, which the client misreads.
      protocol: 2,
      // A REST caller (the edge's fail-open limiter) must get an error at once while Redis is down, not a
      // request parked in an offline queue until its own timeout.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    // Reconnects are automatic; without a listener ioredis would print every failed attempt.
    redis.on('error', () => {});
    await redis.connect();
    return new RedisExecutor(redis);
  }

  /** One HTTP request's commands, each settled on its own (pipeline semantics: one failure fails only itself). */
  async pipeline(cmds: RedisCommand[]): Promise<Outcome[]> {
    const translated = cmds.map((c) => this.#scripts.translate(c));
    return this.#withConnection(cmds, (conn) =>
      Promise.all(translated.map((t) => settle(this.#send(conn, t.cmd)).then((o) => mapReply(o, t)))),
    );
  }

  /**
   * MULTI, the commands, EXEC. A command Redis refuses while queueing aborts the whole transaction (EXECABORT,
   * thrown); errors raised while executing come back per command, as Redis reports them.
   */
  async transaction(cmds: RedisCommand[]): Promise<Outcome[]> {
    const translated = cmds.map((c) => this.#scripts.translate(c));
    return this.#withConnection(cmds, async (conn) => {
      const sent = [['multi'], ...translated.map((t) => t.cmd), ['exec']].map((c) =>
        settle(this.#send(conn, c)),
      );
      const outcomes = await Promise.all(sent);
      const exec = outcomes[outcomes.length - 1]!;
      if (!exec.ok) {
        const queued = outcomes.slice(1, -1).find((o) => !o.ok);
        const detail = queued && !queued.ok ? ` (${queued.error.message})` : '';
        throw Object.assign(new Error(`${exec.error.message}${detail}`), { name: exec.error.name });
      }
      const results = exec.value as unknown[];
      return results.map((r, i) =>
        r instanceof Error
          ? { ok: false as const, error: r }
          : mapReply({ ok: true, value: r }, translated[i]!),
      );
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #send(conn: Redis, cmd: RedisCommand): Promise<unknown> {
    const command = new RawCommand(cmd[0]!.toLowerCase(), cmd.slice(1), { replyEncoding: null });
    conn.sendCommand(command);
    return command.promise;
  }

  async #withConnection<T>(cmds: RedisCommand[], run: (conn: Redis) => Promise<T>): Promise<T> {
    if (!cmds.some(isBlocking)) return run(this.#redis);
    const conn = this.#redis.duplicate({ lazyConnect: true });
    conn.on('error', () => {});
    try {
      await conn.connect();
      return await run(conn);
    } finally {
      conn.disconnect();
    }
  }
}
