/**
 * The Temporal SDK's runtime for a worker process, installed once before the first connection: the logger its
 * own logs and the activities' `Context.current().log` go to, and its Prometheus exporter (temporal_* worker
 * metrics: task slots, poll and schedule-to-start latencies, sticky cache...) when metrics are on.
 */
import { Runtime, type Logger } from '@temporalio/worker';

export interface WorkerRuntimeOptions {
  /**
   * host:port for the SDK's Prometheus exporter; absent: no SDK metrics. The worker binds it to a loopback port of
   * its own and serves it through its one /metrics (metricsServer.ts), so operators scrape one endpoint.
   */
  metricsBindAddress?: string;
  /** Where the SDK's logs go; absent: the SDK's default (stderr). */
  logger?: Logger;
}

/** Must run before NativeConnection.connect: the first connection or worker creates the runtime with defaults. */
export function installWorkerRuntime({ metricsBindAddress, logger }: WorkerRuntimeOptions = {}): void {
  Runtime.install({
    ...(logger ? { logger } : {}),
    telemetryOptions: {
      ...(metricsBindAddress ? { metrics: { prometheus: { bindAddress: metricsBindAddress } } } : {}),
      // The native core's warnings and errors to the same logger; without, they go to stderr in a format of their own.
      ...(logger ? { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } : {}),
    },
  });
}
