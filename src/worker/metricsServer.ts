/**
 * The worker's one metrics endpoint (LLMBATCH_WORKER_METRICS_PORT): GET /metrics answers with llmbatch's own
 * metrics (prom-client) followed by the Temporal SDK's, which the SDK's exporter serves on a loopback port of its
 * own and this server fetches per scrape. If that fetch fails, the answer still carries ours: the SDK's are the
 * lesser half, and a scrape that fails whole would hide the llmbatch metrics too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../config';
import { createWorkerMetrics, type PromWorkerMetrics } from '../metrics/workerMetrics';

/** How long a scrape waits for the SDK's exporter (on loopback, it answers in milliseconds). */
const SDK_FETCH_TIMEOUT_MS = 2_000;
const PORT_VARIABLE = 'LLMBATCH_WORKER_METRICS_PORT';

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** The SDK exporter's /metrics; absent: ours only. */
  sdkMetricsUrl?: string;
}

export interface MetricsServer {
  /** http://host:port/metrics, with the port actually bound (port 0 picks one). */
  url: string;
  close(): Promise<void>;
}

async function sdkExposition(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SDK_FETCH_TIMEOUT_MS) });
    if (!res.ok) return `# Temporal SDK metrics unavailable: HTTP ${res.status}\n`;
    return await res.text();
  } catch (err) {
    return `# Temporal SDK metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`;
  }
}

async function answer(options: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method !== 'GET' || path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
    return;
  }
  const [ours, theirs] = await Promise.all([
    options.registry.metrics(),
    options.sdkMetricsUrl ? sdkExposition(options.sdkMetricsUrl) : Promise.resolve(''),
  ]);
  res.writeHead(200, { 'content-type': options.registry.contentType });
  res.end(theirs ? `${ours}\n${theirs}` : ours);
}

const hostInUrl = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Serves GET /metrics; a port that cannot be bound fails naming LLMBATCH_WORKER_METRICS_PORT. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    answer(options, req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`${PORT_VARIABLE}: cannot serve metrics on ${options.host}:${options.port}: ${err.message}`)),
    );
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostInUrl(options.host)}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A free port on loopback, for the SDK's exporter (it takes an address, not port 0). */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface WorkerTelemetry {
  /** For the activities (createWorker's `metrics`); absent: metrics off. */
  metrics?: PromWorkerMetrics;
  /** For installWorkerRuntime's `metricsBindAddress`. */
  sdkBindAddress?: string;
  /** Where /metrics is served, for the worker's start line. */
  url?: string;
  close(): Promise<void>;
}

/**
 * With metrics on (config.worker.metrics): the registry, a loopback address for the SDK's exporter, and the
 * server. Call before installWorkerRuntime, which needs the address.
 */
export async function startWorkerTelemetry(settings: Config['worker']['metrics']): Promise<WorkerTelemetry> {
  if (!settings) return { close: async () => {} };
  const metrics = createWorkerMetrics();
  const sdkBindAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  const server = await startMetricsServer({
    ...settings,
    registry: metrics.registry,
    sdkMetricsUrl: `http://${sdkBindAddress}/metrics`,
  });
  return { metrics, sdkBindAddress, url: server.url, close: () => server.close() };
}
