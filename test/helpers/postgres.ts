/**
 * A fresh PostgreSQL database for one test file, on the server every machine (CI's too) runs at
 * 127.0.0.1:5432; PGTEST_URL points elsewhere. Dropped again when the file is done.
 */
import { randomBytes } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { migrate } from '../../src/storage/postgres/migrations';
import { createPool } from '../../src/storage/postgres/pool';

const SERVER_URL = process.env.PGTEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  /** A migrated pool on it (closed by drop). */
  pool: Pool;
  drop(): Promise<void>;
}

async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `llmbatch_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), 10);
  if (options.migrated !== false) await migrate(pool);
  return {
    url: url.toString(),
    name,
    pool,
    drop: async () => {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
