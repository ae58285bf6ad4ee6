/**
 * PostgreSQL for the bench: a fresh database per stack on the server at BENCH_PG_URL (default the local
 * server every machine runs, postgres://postgres@127.0.0.1:5432/postgres), dropped again afterwards,
 * and the figures the report takes from it (table sizes, the server's version and settings).
 * The bench's own copy of the idea in test/helpers/postgres.ts: bench/ does not import from test/.
 */
import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { migrate } from '../src/storage/postgres/migrations';
import { createPool } from '../src/storage/postgres/pool';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  /** DATABASE_URL for the stack's processes. */
  url: string;
  name: string;
  /** A pool on it for the bench's own reads and writes (opened on first use, closed by drop). */
  pool(): Pool;
  drop(): Promise<void>;
}

/** Databases not yet dropped, so a signal or a crash can drop them (see dropAll). */
const live = new Set<BenchDatabase>();

async function admin<T>(serverUrl: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE llmbatch_bench_<pid>_<random>, migrated (as the API and worker would migrate it at start-up). */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `llmbatch_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`)).catch((err: Error) => {
    throw new Error(
      `bench: cannot create a PostgreSQL database on ${serverUrl} (BENCH_PG_URL / --pg-url; --stores files runs ` +
        `without PostgreSQL): ${err.message}`,
    );
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let pool: Pool | undefined;
  const db: BenchDatabase = {
    url: url.toString(),
    name,
    pool: () => (pool ??= createPool(url.toString(), 8)),
    drop: async () => {
      live.delete(db);
      await pool?.end().catch(() => undefined);
      await admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
  live.add(db);
  try {
    await migrate(db.pool());
  } catch (err) {
    await db.drop();
    throw err;
  }
  return db;
}

export async function dropAll(): Promise<void> {
  for (const db of [...live])
    await db.drop().catch((err: Error) => console.error(`bench: could not drop database ${db.name}: ${err.message}`));
}

export interface TableSize {
  table: string;
  rows: number;
  /** pg_total_relation_size: the table, its TOAST and its indexes. */
  bytes: number;
}

/** The database's tables, largest first (rows from a count, not the planner's estimate). */
export async function tableSizes(pool: Pool): Promise<{ tables: TableSize[]; databaseBytes: number }> {
  const { rows } = await pool.query<{ table: string; bytes: string }>(
    `SELECT c.relname AS table, pg_total_relation_size(c.oid) AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY pg_total_relation_size(c.oid) DESC`,
  );
  const tables: TableSize[] = [];
  for (const r of rows) {
    const { rows: count } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${r.table}"`);
    tables.push({ table: r.table, bytes: Number(r.bytes), rows: Number(count[0]?.n ?? 0) });
  }
  const { rows: db } = await pool.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
  return { tables, databaseBytes: Number(db[0]?.bytes ?? 0) };
}

/** The server's version and the settings that bear on write speed, for the report's machine table. */
export async function serverInfo(serverUrl: string): Promise<string> {
  try {
    return await admin(serverUrl, async (c) => {
      const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
      const { rows } = await c.query<{ name: string; setting: string; unit: string | null }>(
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', " +
          "'fsync') ORDER BY name",
      );
      const show = (r: { name: string; setting: string; unit: string | null }): string =>
        r.name === 'shared_buffers' && r.unit === '8kB'
          ? `${r.name} ${Math.round((Number(r.setting) * 8) / 1024)} MB`
          : `${r.name} ${r.setting}`;
      return `PostgreSQL ${version} on ${new URL(serverUrl).host} (${rows.map(show).join(', ')})`;
    });
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  }
}
