/**
 * `npm run migrate`: applies the PostgreSQL schema's missing migrations to DATABASE_URL and says which.
 * The API and the worker do the same at start-up; this is for doing it ahead of a deploy.
 */
import { loadConfigOrExit } from '../../config';
import { createLogger } from '../../logging/logger';
import { LATEST_VERSION, migrate } from './migrations';
import { checkConnection, createPool, DatabaseError, redactUrl } from './pool';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.log.level, name: 'migrate' });

async function main(): Promise<void> {
  if (!config.database) {
    logger.fatal('DATABASE_URL: not set; the file store (LLMBATCH_DATA_DIR) needs no migrations');
    process.exit(1);
  }
  const pool = createPool(config.database.url, 1, logger);
  try {
    await checkConnection(pool, config.database.url);
    const applied = await migrate(pool);
    const where = redactUrl(config.database.url);
    logger.info(
      applied.length === 0
        ? `${where} is up to date (schema version ${LATEST_VERSION})`
        : `${where}: applied migration(s) ${applied.join(', ')}; now at schema version ${LATEST_VERSION}`,
    );
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  // A DatabaseError's message names DATABASE_URL (without the password) and says enough; anything else: the stack.
  if (err instanceof DatabaseError) logger.fatal(err.message);
  else logger.fatal({ err }, 'migration failed');
  process.exit(1);
});
