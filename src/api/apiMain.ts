/** `npm run api`: the HTTP API. Binds to API_HOST (loopback by default). */
import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { ApiMetrics } from '../metrics/apiMetrics';
import { describeStorage, openStorageOrExit } from '../storage/open';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.auth.mode === 'keys' && config.auth.tenants.length === 0) {
    console.error(
      'Invalid configuration:\n  LLMBATCH_TENANTS: no tenants, so no API key would be accepted; ' +
        'configure tenants (npm run key makes a key) or set LLMBATCH_AUTH=local',
    );
    process.exit(1);
  }
  const storage = await openStorageOrExit(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp({
    client,
    store: storage.store,
    files: storage.files,
    slots: storage.slots,
    checkDatabase: storage.checkDatabase,
    config,
    metrics: new ApiMetrics({
      defaultMetrics: true,
      onCollectError: (err) => console.error(`metrics: reading batches from Temporal failed: ${String(err)}`),
    }),
  });
  // Express 5 calls this back on a failed listen too (a port taken, say): say so and exit, not "listening".
  const server = app.listen(config.api.port, config.api.host, (err?: Error) => {
    if (err) {
      console.error(
        `llmbatch API cannot listen on ${config.api.host}:${config.api.port} (API_HOST, API_PORT): ${err.message}`,
      );
      process.exit(1);
    }
    const auth =
      config.auth.mode === 'local' ? 'local mode: no API keys' : `API keys of ${config.auth.tenants.length} tenant(s)`;
    const address = `http://${config.api.host}:${config.api.port}`;
    console.log(`llmbatch API listening on ${address} (${auth}; ${describeStorage(storage, config)})`);
  });
  const stop = (): void => {
    server.close(() => void Promise.all([connection.close(), storage.close()]).then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
