/** `npm run worker`: connects to Temporal and runs batch workflows and activities. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit } from '../config';
import { describeStorage, openStorageOrExit } from '../storage/open';
import { createWorker } from './createWorker';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const storage = await openStorageOrExit(config);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker({ connection, config, store: storage.store, cache: storage.cache });
  console.log(
    `llmbatch worker on task queue "${config.temporal.taskQueue}" at ${config.temporal.address}` +
      (config.lanes.length
        ? ` and ${config.lanes.length} lane queue(s) (${config.lanes.map((l) => l.taskQueue).join(', ')})`
        : '') +
      `; provider ${config.provider.baseURL}` +
      (config.provider.simulated ? ' (SIMULATED provider, not a real LLM)' : '') +
      `; ${describeStorage(storage, config)}`,
  );
  // worker.run() resolves after SIGINT/SIGTERM once in-flight tasks drain (the SDK installs those handlers).
  await worker.run();
  await Promise.all([connection.close(), storage.close()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
