/**
 * The PostgreSQL connection pool every PostgreSQL store shares in a process. Connections that die
 * (a restarted server, `pg_terminate_backend`) are dropped by the pool and replaced on the next query;
 * the query that was using one fails, and the caller's retry (an activity's, a client's) redoes it.
 */
import { Pool, type PoolClient } from 'pg';
import { createLogger, type Logger } from '../../logging/logger';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** `logger`: the process's (a pool that loses a connection says so); by default one of its own at info. */
export function createPool(url: string, size: number, logger?: Logger): Pool {
  const pool = new Pool({
    connectionString: url,
    max: size,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that dies emits 'error' on the pool; unhandled, that would kill the process.
  pool.on('error', (err) =>
    (logger ?? createLogger({ level: 'info', name: 'storage' })).warn(
      `PostgreSQL: an idle connection was lost (${err.message}); the pool opens a new one when needed`,
    ),
  );
  return pool;
}

/**
 * Connects once, so that a wrong DATABASE_URL is reported at start-up naming the variable, not at the first request.
 */
export async function checkConnection(pool: Pool, url: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    throw new DatabaseError(
      `DATABASE_URL: cannot connect to ${redactUrl(url)}: ` +
        `${(err as Error).message || (err as { code?: string }).code || String(err)}`,
    );
  }
}

/** Runs `work` in one transaction, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (err) {
    // A connection that cannot even roll back is dead: released with the error, the pool drops it.
    const broken = await client.query('ROLLBACK').then(
      () => undefined,
      (e: Error) => e,
    );
    client.release(broken);
    throw err;
  }
}
