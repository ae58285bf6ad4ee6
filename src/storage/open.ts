/**
 * Which data plane a process uses, decided once from the config: PostgreSQL when DATABASE_URL is set
 * (deployments: the API and every worker share it, and nothing else), else files under the data dir
 * (`npm run demo`, a laptop: one host).
 */
import type { Pool } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { ResponseCache } from './cache';
import { FileResponseCache } from './fileCache';
import { FileBatchStore } from './fileStore';
import { LocalFileStore, type FileStore } from './files';
import { PostgresBatchStore } from './postgres/batchStore';
import { PostgresFileStore } from './postgres/fileStore';
import { migrate } from './postgres/migrations';
import { PostgresSlotStore } from './postgres/slots';
import { checkConnection, createPool, DatabaseError, redactUrl } from './postgres/pool';
import { PostgresResponseCache } from './postgres/responseCache';
import { PostgresRequestStore } from './postgres/requestStore';
import { FileRequestStore, type RequestStore } from './requests';
import type { SlotStore } from './slots';
import type { BatchStore } from './types';

export interface Storage {
  kind: 'postgres' | 'files';
  store: BatchStore;
  files: FileStore;
  /** Responses reused across batches (the workers' side of the data plane). */
  cache: ResponseCache;
  /** Single requests waiting to be gathered into batches (POST /requests). */
  requests: RequestStore;
  /** Concurrent-batch slots shared by API replicas; the file store has none (each API process counts its own). */
  slots?: SlotStore;
  /**
   * Resolves when the database answers; rejects saying why (for /readyz). Absent for the file store: nothing to reach.
   */
  checkDatabase?: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * Opens the data plane; with PostgreSQL, connects and applies
 * missing migrations first. Throws DatabaseError naming DATABASE_URL. `logger`: the process's, for the pool.
 */
export async function openStorage(config: Config, logger?: Logger): Promise<Storage> {
  if (!config.database) {
    return {
      kind: 'files',
      store: new FileBatchStore(config.dataDir),
      files: new LocalFileStore(config.dataDir),
      cache: new FileResponseCache(config.dataDir),
      requests: new FileRequestStore(config.dataDir),
      close: async () => undefined,
    };
  }
  const { url, poolSize } = config.database;
  const pool = createPool(url, poolSize, logger);
  try {
    await checkConnection(pool, url);
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof DatabaseError) throw err;
    throw new DatabaseError(`DATABASE_URL: cannot prepare the database: ${(err as Error).message}`);
  }
  return postgresStorage(pool);
}

function postgresStorage(pool: Pool): Storage {
  return {
    kind: 'postgres',
    store: new PostgresBatchStore(pool),
    cache: new PostgresResponseCache(pool),
    slots: new PostgresSlotStore(pool),
    requests: new PostgresRequestStore(pool),
    files: new PostgresFileStore(pool),
    checkDatabase: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

/** One line for start-up logs: where the data lives (no password). */
export function describeStorage(storage: Storage, config: Config): string {
  return storage.kind === 'postgres' && config.database
    ? `data in PostgreSQL ${redactUrl(config.database.url)}`
    : `data in files under ${config.dataDir}`;
}

/** For entry points: open the data plane, or log the reason (no stack) and exit 1. */
export async function openStorageOrExit(config: Config, logger: Logger): Promise<Storage> {
  try {
    return await openStorage(config, logger);
  } catch (err) {
    if (err instanceof DatabaseError) {
      logger.fatal(err.message);
      process.exit(1);
    }
    throw err;
  }
}
