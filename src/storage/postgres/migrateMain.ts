/**
 * `npm run migrate`: applies the PostgreSQL schema's missing migrations to DATABASE_URL and says which.
 * The API and the worker do the same at start-up; this is for doing it ahead of a deploy.
 */
import { loadConfigOrExit } from '../../config';
import { LATEST_VERSION, migrate } from './migrations';
import { checkConnection, createPool, DatabaseError, redactUrl } from './pool';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config.database) {
    console.error('DATABASE_URL: not set; the file store (LLMBATCH_DATA_DIR) needs no migrations');
    process.exit(1);
  }
  const pool = createPool(config.database.url, 1);
  try {
    await checkConnection(pool, config.database.url);
    const applied = await migrate(pool);
    const where = redactUrl(config.database.url);
    console.log(
      applied.length === 0
        ? `${where} is up to date (schema version ${LATEST_VERSION})`
        : `${where}: applied migration(s) ${applied.join(', ')}; now at schema version ${LATEST_VERSION}`,
    );
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof DatabaseError ? err.message : err);
  process.exit(1);
});
