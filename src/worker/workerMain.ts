/** `npm run worker`: connects to Temporal and runs batch workflows and activities. */
import { NativeConnection } from '@temporalio/worker';
import { loadConfigOrExit, type Config } from '../config';
import { createLogger, type Logger } from '../logging/logger';
import { temporalLogger } from '../logging/temporal';
import { describeStorage, openStorageOrExit } from '../storage/open';
import { createWorker } from './createWorker';
import { startWorkerTelemetry } from './metricsServer';
import { installWorkerRuntime } from './runtime';

async function main(config: Config, logger: Logger): Promise<void> {
  // First: the SDK's exporter binds the loopback address this picks, and a bad metrics port stops the start here.
  const telemetry = await startWorkerTelemetry(config.worker.metrics);
  installWorkerRuntime({ logger: temporalLogger(logger), metricsBindAddress: telemetry.sdkBindAddress });
  const storage = await openStorageOrExit(config, logger);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const { metrics } = telemetry;
  const worker = await createWorker({
    connection,
    config,
    store: storage.store,
    cache: storage.cache,
    files: storage.files,
    requests: storage.requests,
    slots: storage.slots,
    logger,
    metrics,
  });
  // At info whatever LLMBATCH_LOG_LEVEL says: npm start (src/cli/stack.ts) and the tests wait for this line.
  logger
    .child({}, { level: 'info' })
    .info(
      `llmbatch worker on task queue "${config.temporal.taskQueue}" at ${config.temporal.address}` +
        (config.lanes.length
          ? ` and ${config.lanes.length} lane queue(s) (${config.lanes.map((l) => l.taskQueue).join(', ')})`
          : '') +
        `; provider ${config.provider.baseURL}` +
        (config.provider.simulated ? ' (SIMULATED provider, not a real LLM)' : '') +
        `; ${describeStorage(storage, config)}` +
        (telemetry.url ? `; metrics ${telemetry.url}` : ''),
    );
  // worker.run() resolves after SIGINT/SIGTERM once in-flight tasks drain (the SDK installs those handlers).
  await worker.run();
  await Promise.all([connection.close(), storage.close(), telemetry.close()]);
}

const config = loadConfigOrExit();
const logger = createLogger({ level: config.log.level, name: 'worker' });
main(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'llmbatch worker stopped');
  process.exit(1);
});
