/** Migrations and start-up against a real PostgreSQL: concurrent starts, a newer schema, a bad DATABASE_URL. */
import { spawn } from 'node:child_process';
import { tsEntry } from '../../src/cli/processes';
import { LATEST_VERSION, migrate, MIGRATIONS } from '../../src/storage/postgres/migrations';
import { createPool } from '../../src/storage/postgres/pool';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  await db.drop();
});

describe('migrations', () => {
  it('applies each migration once when several processes start at once', async () => {
    const pools = Array.from({ length: 5 }, () => createPool(db.url, 2));
    try {
      const applied = await Promise.all(pools.map((p) => migrate(p)));
      expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.version));
      const { rows } = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a database migrated by newer code, naming the variable', async () => {
    await db.pool.query("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", [
      LATEST_VERSION + 1,
    ]);
    try {
      await expect(migrate(db.pool)).rejects.toThrow(
        `DATABASE_URL: the database is at schema version ${LATEST_VERSION + 1}, newer than this llmbatch knows ` +
          `(${LATEST_VERSION})`,
      );
    } finally {
      await db.pool.query('DELETE FROM schema_migrations WHERE version = $1', [LATEST_VERSION + 1]);
    }
  });

  it('rolls back a migration that fails, leaving the version unapplied', async () => {
    const broken = [
      ...MIGRATIONS,
      {
        version: LATEST_VERSION + 1,
        name: 'broken',
        sql: 'CREATE TABLE half_done (x int); SELECT * FROM no_such_table',
      },
    ];
    await expect(migrate(db.pool, broken)).rejects.toThrow('no_such_table');
    const { rows } = await db.pool.query(
      "SELECT to_regclass('half_done') AS t, (SELECT max(version) FROM schema_migrations) AS v",
    );
    expect(rows[0]).toEqual({ t: null, v: LATEST_VERSION });
  });
});

/** Runs an entry point with `env` and collects its exit code and output; it must exit by itself. */
function run(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const { command, args } = tsEntry(entry);
  const child = spawn(command, args, {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((ok) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      ok({ code, output });
    }),
  );
}

describe('start-up with a bad DATABASE_URL', () => {
  // Temporal is never reached: the database is checked first. Port 1 refuses connections.
  const base = { TEMPORAL_ADDRESS: '127.0.0.1:1', LLMBATCH_AUTH: 'local', API_PORT: '0' };
  const cases: Array<[string, string, RegExp]> = [
    [
      'an unreachable server',
      'postgres://llmbatch:s3cret@127.0.0.1:1/llmbatch',
      /DATABASE_URL: cannot connect to postgres:\/\/llmbatch:\*\*\*@127\.0\.0\.1:1\/llmbatch: .*ECONNREFUSED/,
    ],
    [
      'a database that does not exist',
      'postgres://postgres@127.0.0.1:5432/llmbatch_no_such_db',
      /DATABASE_URL: cannot connect to .*llmbatch_no_such_db.*does not exist/,
    ],
    ['not a postgres URL', 'mysql://root@127.0.0.1/x', /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
  ];
  for (const entry of ['src/api/apiMain.ts', 'src/worker/workerMain.ts']) {
    it.each(cases)(
      `${entry} refuses %s, naming the variable, without a stack trace or the password`,
      async (_what, url, message) => {
        const { code, output } = await run(entry, { ...base, DATABASE_URL: url });
        expect(code).toBe(1);
        expect(output).toMatch(message);
        expect(output).not.toMatch(/^\s+at /m);
        expect(output).not.toContain('s3cret');
      },
    );
  }

  it('npm run migrate applies the schema to an empty database and says so', async () => {
    const fresh = await createTestDatabase({ migrated: false });
    try {
      const first = await run('src/storage/postgres/migrateMain.ts', { DATABASE_URL: fresh.url });
      expect(first).toMatchObject({ code: 0 });
      expect(first.output).toContain(
        `applied migration(s) ${MIGRATIONS.map((m) => m.version).join(', ')}; now at schema version ${LATEST_VERSION}`,
      );
      const again = await run('src/storage/postgres/migrateMain.ts', { DATABASE_URL: fresh.url });
      expect(again.output).toContain(`is up to date (schema version ${LATEST_VERSION})`);
    } finally {
      await fresh.drop();
    }
  });
});
