/** `npm run api`: the HTTP API. Binds to API_HOST (loopback by default). */
import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit, type Config } from '../config';
import { createLogger, type Logger } from '../logging/logger';
import { ApiMetrics } from '../metrics/apiMetrics';
import { describeStorage, openStorageOrExit } from '../storage/open';
import { createApp } from './app';

async function main(config: Config, logger: Logger): Promise<void> {
  if (config.auth.mode === 'keys' && config.auth.tenants.length === 0) {
    logger.fatal(
      'Invalid configuration:\n  LLMBATCH_TENANTS: no tenants, so no API key would be accepted; ' +
        'configure tenants (npm run key makes a key) or set LLMBATCH_AUTH=local',
    );
    process.exit(1);
  }
  const storage = await openStorageOrExit(config, logger);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp({
    client,
    store: storage.store,
    files: storage.files,
    slots: storage.slots,
    requests: storage.requests,
    checkDatabase: storage.checkDatabase,
    config,
    metrics: new ApiMetrics({
      defaultMetrics: true,
      onCollectError: (err) => logger.warn({ err }, 'metrics: reading batches from Temporal failed'),
    }),
    logger,
  });
  // Express 5 calls this back on a failed listen too (a port taken, say): say so and exit, not "listening".
  const server = app.listen(config.api.port, config.api.host, (err?: Error) => {
    if (err) {
      logger.fatal(
        `llmbatch API cannot listen on ${config.api.host}:${config.api.port} (API_HOST, API_PORT): ${err.message}`,
      );
      process.exit(1);
    }
    const auth =
      config.auth.mode === 'local' ? 'local mode: no API keys' : `API keys of ${config.auth.tenants.length} tenant(s)`;
    const address = `http://${config.api.host}:${config.api.port}`;
    // At info whatever LLMBATCH_LOG_LEVEL says: supervisors and tests wait for this line.
    const started = logger.child({}, { level: 'info' });
    started.info(`llmbatch API listening on ${address} (${auth}; ${describeStorage(storage, config)})`);
  });
  const stop = (): void => {
    server.close(() => void Promise.all([connection.close(), storage.close()]).then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const config = loadConfigOrExit();
const logger = createLogger({ level: config.log.level, name: 'api' });
main(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'llmbatch API stopped');
  process.exit(1);
});
