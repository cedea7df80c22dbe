/**
 * Probe worker for workerd tests: runs one query with the Neon driver and drizzle through `neonConfig.wsProxy`
 * (the settings the edge uses against a local Postgres) and answers the rows as JSON.
 */
import { neonConfig, Pool } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-serverless';

interface Env {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
}

interface Ctx {
  waitUntil(p: Promise<unknown>): void;
}

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    neonConfig.wsProxy = env.NEON_WS_PROXY;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    const echo = new URL(request.url).searchParams.get('echo') ?? '';
    // Workers may not reuse a socket across requests: one pool per request, closed after the answer.
    const pool = new Pool({ connectionString: env.DATABASE_URL, max: 1 });
    try {
      const db = drizzle({ client: pool });
      const result = await db.execute(
        sql`SELECT ${echo}::text AS echo, current_database() AS db, (SELECT count(*)::int FROM generate_series(1, 1000)) AS n`,
      );
      return Response.json({ rows: result.rows, runtime: navigator.userAgent });
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 502 });
    } finally {
      ctx.waitUntil(pool.end());
    }
  },
};
