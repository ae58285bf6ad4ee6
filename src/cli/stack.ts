/**
 * The whole stack as child processes: Temporal dev server, the simulated
 * provider (only when no real provider is configured), the worker, the API.
 * Used by `npm start` and `npm run demo`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { requireTemporalCliPath } from '../devServer/binary';
import { devServerCommand } from '../devServer/command';
import { httpOk, ManagedChild, tsEntry, waitUntil, type ChildSpec } from './processes';

/**
 * The metrics URL a worker's start line names (`; metrics http://host:port/metrics`), if it serves them: with
 * LLMBATCH_WORKER_METRICS_PORT=0 only the worker knows its port.
 */
export const workerMetricsUrl = (startLine: string): string | undefined =>
  /; metrics (http:\/\/\S+?\/metrics)/.exec(startLine)?.[1];

export interface StackOptions {
  /** Children whose output is mirrored to the console. */
  echo?: string[];
  /** Extra environment for the simulator (the demo sets a visible latency). */
  providerEnv?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

export interface Stack {
  urls: {
    api: string;
    /** The web console (GET /console on the API). */
    console: string;
    webUi: string;
    temporal: string;
    provider: string;
    simulated: boolean;
    /** The worker's /metrics, as its start line names it; absent when LLMBATCH_WORKER_METRICS_PORT is unset. */
    workerMetrics?: string;
  };
  logDir: string;
  children: ManagedChild[];
  stop(): Promise<void>;
}

/** True once the Temporal server at `address` answers for `namespace`. */
export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

export async function startStack(config: Config, options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const logDir = resolve(join(config.dataDir, 'logs'));
  mkdirSync(logDir, { recursive: true });
  const children: ManagedChild[] = [];
  const launch = (spec: ChildSpec): ManagedChild => {
    const child = new ManagedChild({ ...spec, echo: options.echo?.includes(spec.name) }, logDir);
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    // Reverse order: API and worker drain before the server and provider go away.
    for (const child of [...children].reverse()) await child.stop();
  };

  try {
    const server = devServerCommand(config);
    const cli = requireTemporalCliPath(process.env, log);
    log(`starting Temporal dev server (${cli})`);
    const temporal = launch({ name: 'temporal', command: cli, args: server.args });
    if (config.provider.simulated) {
      log('starting the simulated provider');
      const entry = tsEntry('src/provider/providerMain.ts', ['--port', String(config.provider.simulatorPort)]);
      const provider = launch({ name: 'provider', ...entry, env: { ...process.env, ...options.providerEnv } });
      await waitUntil(
        'simulated provider',
        () => httpOk(`http://127.0.0.1:${config.provider.simulatorPort}/healthz`),
        30_000,
        provider,
      );
    }
    await waitUntil(
      'Temporal',
      () => temporalReady(config.temporal.address, config.temporal.namespace),
      60_000,
      temporal,
    );

    log('starting worker and API');
    const worker = launch({ name: 'worker', ...tsEntry('src/worker/workerMain.ts') });
    // The console links each batch to its workflow in the Web UI this stack runs, unless told of another.
    const apiEnv = { ...process.env, LLMBATCH_TEMPORAL_UI_URL: process.env.LLMBATCH_TEMPORAL_UI_URL || server.uiUrl };
    const api = launch({ name: 'api', ...tsEntry('src/api/apiMain.ts'), env: apiEnv });
    const apiUrl = `http://${config.api.host}:${config.api.port}`;
    const [workerLine] = await Promise.all([
      worker.waitForLine(/llmbatch worker on task queue/, 120_000),
      waitUntil('API', () => httpOk(`${apiUrl}/healthz`), 60_000, api),
    ]);
    return {
      urls: {
        api: apiUrl,
        console: `${apiUrl}/console`,
        webUi: server.uiUrl,
        temporal: config.temporal.address,
        provider: config.provider.baseURL,
        simulated: config.provider.simulated,
        workerMetrics: workerMetricsUrl(workerLine),
      },
      logDir,
      children,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Stops the stack, then exits with `exitCode`, when this process is asked to stop: SIGINT, SIGTERM or
 * SIGHUP (Ctrl-C, a process manager, a closed terminal), or the process that started it going away (npm or
 * tsx killed). A kill -9 of this process is the watchdog's to handle (see processes.ts).
 */
export function stopOnSignals(stack: Stack, log: (message: string) => void, exitCode: number): StackShutdown {
  // After a hang-up the terminal is gone: a failed write must not cut the shutdown short.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    void stack.stop().then(() => process.exit(exitCode));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown();
  }, 1000).unref();
  return {
    shutdown,
    get stopping() {
      return stopping;
    },
  };
}

export interface StackShutdown {
  shutdown(): void;
  readonly stopping: boolean;
}
