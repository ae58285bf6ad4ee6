import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BatchManager } from './batches/batchManager';
import type { BodyCalls } from './bodyCalls';
import { requestDigest } from './canonical';
import { CHAT_ENDPOINT } from './endpoints/chat';
import { batchLineExecutor } from './execute';
import { FaultInjector } from './faults';
import { FileStore } from './files/fileStore';
import { createSimulatorApp } from './http/app';
import type { SimulatorContext } from './http/context';
import { PendingResponses } from './http/pending';
import { OptionsStore, type ResolvedOptions, type SimulatorOptions } from './options';
import { RateLimiter, type BucketState } from './rateLimiter';
import { StatsCollector, type SimStats } from './stats';

export interface Simulator {
  /** Base URL for the openai client, e.g. http://127.0.0.1:8787/v1 */
  url: string;
  /** http://127.0.0.1:8787 */
  origin: string;
  port: number;
  /** Where files are stored (a fresh temp dir unless `dataDir` was given). */
  dataDir: string;
  stats(): SimStats;
  /** How often one request body was called (realtime calls and native batch lines). */
  callsForBody(body: unknown, endpoint?: string): BodyCalls;
  /** Change knobs at runtime; throws InvalidOptionError naming the bad knob. */
  configure(patch: Partial<SimulatorOptions>): void;
  options(): ResolvedOptions;
  resetStats(): void;
  /** Rate-limit buckets `full` (a fresh window) or `empty` (a window in use: nothing left now). */
  resetRateLimits(state?: BucketState): void;
  /** Stops timers, closes the server and every open (hung) connection. */
  close(): Promise<void>;
}

export interface SimulatorParts {
  context: SimulatorContext;
  /** True when the data directory is a temp dir this simulator made (and removes on close). */
  ownsDataDir: boolean;
}

/** What tests may replace: the rate limiter's clock (ms, like Date.now). */
export interface SimulatorDeps {
  now?: () => number;
}

/** Builds the simulator state (options validated first, so bad knobs fail before anything starts). */
export async function createSimulatorParts(
  options: SimulatorOptions = {},
  deps: SimulatorDeps = {},
): Promise<SimulatorParts> {
  const store = new OptionsStore(options);
  const ownsDataDir = store.current.dataDir === undefined;
  const dataDir =
    store.current.dataDir === undefined
      ? await mkdtemp(join(tmpdir(), 'llmbatch-sim-'))
      : resolve(store.current.dataDir);
  if (!ownsDataDir) await mkdir(dataDir, { recursive: true });

  const files = await FileStore.open(dataDir);
  const faults = new FaultInjector(store.current.seed);
  store.onChange((next, previous) => {
    if (next.seed !== previous.seed) faults.reseed(next.seed);
  });
  const limiter = new RateLimiter(() => store.current, deps.now);
  store.onChange(() => limiter.applyLimits());
  // The closure runs only when stats are read, after `batches` exists.
  const stats: StatsCollector = new StatsCollector(
    () => batches.statusCounts(),
    () => limiter.backgroundUsage(),
  );
  const batches: BatchManager = new BatchManager({
    files,
    options: store,
    execute: batchLineExecutor(stats, () => store.current),
  });
  const context: SimulatorContext = {
    options: store,
    stats,
    limiter,
    faults,
    files,
    batches,
    pending: new PendingResponses(),
  };
  return { context, ownsDataDir };
}

export async function startSimulator(options: SimulatorOptions = {}, deps: SimulatorDeps = {}): Promise<Simulator> {
  const { context, ownsDataDir } = await createSimulatorParts(options, deps);
  const server = createServer(createSimulatorApp(context));
  const { host, port } = context.options.current;
  try {
    await listen(server, port, host);
  } catch (err) {
    await context.batches.close();
    if (ownsDataDir) await rm(context.files.dataDir, { recursive: true, force: true });
    throw err;
  }
  const actualPort = (server.address() as AddressInfo).port;
  const origin = `http://${urlHost(host)}:${actualPort}`;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    context.pending.closeAll();
    const serverClosed = new Promise<void>((done) => server.close(() => done()));
    server.closeAllConnections();
    await context.batches.close();
    await serverClosed;
    if (ownsDataDir) await rm(context.files.dataDir, { recursive: true, force: true });
  };

  return {
    url: `${origin}/v1`,
    origin,
    port: actualPort,
    dataDir: context.files.dataDir,
    stats: () => context.stats.snapshot(),
    callsForBody: (body, endpoint = CHAT_ENDPOINT) => context.stats.bodies.get(requestDigest(endpoint, body)),
    configure: (patch) => context.options.update(patch),
    options: () => context.options.current,
    resetStats: () => context.stats.reset(),
    resetRateLimits: (state = 'full') => context.limiter.reset(state),
    close: () => (closing ??= close()),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
}

/** A wildcard bind is reached through loopback; IPv6 literals need brackets in URLs. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
