/**
 * The schema, as an ordered list of migrations. Each process applies the missing ones at start-up
 * under an advisory lock, so that several starting at once apply each exactly once; `npm run migrate`
 * does the same by hand. A database migrated by newer code than this is refused: this code would not
 * know its tables. Append new migrations; never edit one that has shipped.
 */
import type { Pool } from 'pg';
import { DatabaseError } from './pool';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'batches, results, records, slots, cache, files',
    sql: `
      -- A batch's manifest (written last: a batch without this row does not exist) and its outcome once ended.
      -- Batch ids are listed in id order (they sort by creation time): "C" compares them byte by byte, as
      -- the file store does, whatever the server's locale (en_US would skip '-' and '_').
      CREATE TABLE batches (
        batch_id text COLLATE "C" PRIMARY KEY,
        total integer NOT NULL,
        chunk_size integer NOT NULL,
        chunk_count integer NOT NULL,
        created_at timestamptz NOT NULL,
        outcome jsonb
      );
      -- Input lines, one row per chunk (JSONL text: read whole by one activity, never queried inside).
      CREATE TABLE batch_chunks (
        batch_id text NOT NULL,
        chunk integer NOT NULL,
        lines text NOT NULL,
        PRIMARY KEY (batch_id, chunk)
      );
      -- One row per item: the primary key is what makes the first result recorded win.
      CREATE TABLE results (
        batch_id text NOT NULL,
        custom_id text COLLATE "C" NOT NULL,
        chunk integer NOT NULL,
        succeeded boolean NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (batch_id, custom_id)
      );
      CREATE INDEX results_by_chunk ON results (batch_id, chunk, custom_id);
      -- Transient failures per item (ids and counts only, never bodies).
      CREATE TABLE item_failures (
        batch_id text NOT NULL,
        chunk integer NOT NULL,
        custom_id text NOT NULL,
        failures integer NOT NULL,
        PRIMARY KEY (batch_id, chunk, custom_id)
      );
      CREATE TABLE batch_records (
        batch_id text COLLATE "C" NOT NULL REFERENCES batches ON DELETE CASCADE,
        kind text NOT NULL,
        record jsonb NOT NULL,
        PRIMARY KEY (kind, batch_id)
      );
      -- A tenant's batches, newest first (GET /batches, /v1/batches).
      CREATE INDEX batch_records_by_tenant ON batch_records (kind, (record->>'tenant'), batch_id);
      -- The concurrent-batch quota and Idempotency-Keys, across API replicas: one row per batch being
      -- created or running; ended_at is set once the batch ends. The key stays unique after that.
      CREATE TABLE batch_slots (
        batch_id text PRIMARY KEY,
        tenant text NOT NULL,
        idempotency_key text,
        taken_at timestamptz NOT NULL DEFAULT now(),
        started boolean NOT NULL DEFAULT false,
        ended_at timestamptz
      );
      CREATE UNIQUE INDEX batch_slots_key ON batch_slots (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX batch_slots_held ON batch_slots (tenant) WHERE ended_at IS NULL;
      -- Responses reused across batches, by SHA-256 of the endpoint, the model and the canonical body.
      CREATE TABLE response_cache (
        key text PRIMARY KEY,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- /v1 uploads: metadata, and the content in parts (bytea rows of up to 1 MiB, streamed in and out).
      -- file_id in the "C" collation: listed in byte order, as the embedded store lists (a server's default
      -- collation, en_US.utf8 in the official image, puts 'file-a' before 'file-B' and sorts '-' and '_' apart).
      CREATE TABLE files (
        file_id text COLLATE "C" PRIMARY KEY,
        tenant text,
        purpose text NOT NULL,
        filename text NOT NULL,
        bytes bigint NOT NULL,
        created_at timestamptz NOT NULL,
        content_id text NOT NULL
      );
      CREATE INDEX files_by_tenant ON files (tenant, file_id);
      CREATE TABLE file_parts (
        content_id text NOT NULL,
        part integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (content_id, part)
      );
    `,
  },
  {
    version: 2,
    name: 'gathered requests',
    sql: `
      -- POST /requests: each single request's line (the claim check of the gatherer workflow, which holds ids
      -- only) and, once it is gathered, the batch it went into.
      CREATE TABLE gathered_requests (
        request_id text COLLATE "C" PRIMARY KEY,
        tenant text NOT NULL,
        record jsonb NOT NULL,
        batch_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];

/** Any number works; this one is "llmbatch" in ASCII, truncated to fit a bigint. */
const MIGRATION_LOCK = 0x6c6c6d6261746368n;

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Applies the missing migrations; returns the versions applied (none when up to date). */
export async function migrate(pool: Pool, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, ' +
          'applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      const applied = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...applied);
      const latest = Math.max(0, ...migrations.map((m) => m.version));
      if (newest > latest) {
        throw new DatabaseError(
          `DATABASE_URL: the database is at schema version ${newest}, newer than this llmbatch knows ` +
            `(${latest}); run the newer llmbatch, or point DATABASE_URL at another database`,
        );
      }
      const done: number[] = [];
      for (const m of migrations) {
        if (applied.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        done.push(m.version);
      }
      return done;
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()])
        .catch((err: Error) => (broken = err));
    }
  } finally {
    client.release(broken);
  }
}
