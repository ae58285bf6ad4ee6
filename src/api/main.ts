/** `npm run api`: the HTTP API. Binds to API_HOST (loopback by default). */
import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../config';
import { FileBatchStore } from '../storage/fileStore';
import { createApp } from './app';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = createApp({ client, store: new FileBatchStore(config.dataDir), config });
  const server = app.listen(config.api.port, config.api.host, () => {
    console.log(`llmbatch API listening on http://${config.api.host}:${config.api.port}`);
  });
  const stop = (): void => {
    server.close(() => void connection.close().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
