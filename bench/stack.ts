/**
 * The real llmbatch stack (src/cli/stack.ts) on free ports and a temp data dir,
 * plus the client side of a batch: POST, poll until done, read and verify results.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManagedChild, tsEntry } from '../src/cli/processes';
import { startStack, type Stack } from '../src/cli/stack';
import { loadConfig } from '../src/config';
import type { BatchLine, BatchOutputLine } from '../src/shared/contracts';
import { createBenchDatabase, DEFAULT_PG_URL, dropAll, type BenchDatabase } from './postgres';

/** The data plane a stack runs on: files under its data dir, or a fresh PostgreSQL database (DATABASE_URL). */
export type StoreKind = 'files' | 'postgres';
export const STORE_LABEL: Record<StoreKind, string> = { files: 'file store', postgres: 'PostgreSQL' };

export interface EngineSettings {
  chunkSize: number;
  maxChunksInFlight: number;
  itemConcurrency: number;
  /** Requests in flight across the worker: the figure matched to the loop's lanes. */
  workerConcurrency: number;
  /** SIM_* variables for the stack's simulator child. */
  simEnv: Record<string, string>;
  /** More engine variables for the worker and API (e.g. LLMBATCH_RPM). */
  engineEnv?: Record<string, string>;
  /** Worker processes; startStack starts one, the rest are started here. Default 1. */
  workers?: number;
  /** Default files. PostgreSQL: a fresh database on `pgUrl`'s server for this stack, dropped after. */
  store?: StoreKind;
  /** The PostgreSQL server (its admin database's URL) the stack's database is created on. */
  pgUrl?: string;
}

export interface BenchStack {
  stack: Stack;
  api: string;
  /** Origin of the simulator (no /v1), for /_sim control calls. */
  simOrigin: string;
  dataDir: string;
  store: StoreKind;
  /** The stack's own database (PostgreSQL stacks only). */
  database?: BenchDatabase;
}

/** Process ids of the stack's children by name (api, worker, provider, temporal, worker-2, ...). */
export function childPids(s: BenchStack): Record<string, number | undefined> {
  return Object.fromEntries(s.stack.children.map((c) => [c.spec.name, c.process.pid]));
}

/** Stacks still running, so a signal or a crash can stop them (see stopAll). */
const live = new Set<Stack>();

export async function stopAll(): Promise<void> {
  for (const s of [...live]) {
    live.delete(s);
    await s.stop();
  }
  await dropAll();
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

/**
 * Runs `body` against a fresh stack and always stops it. The children read their
 * configuration from process.env (only the simulator gets an explicit env), so
 * the variables are set here for the duration and restored afterwards.
 */
export async function withStack<T>(
  settings: EngineSettings,
  keepData: boolean,
  body: (s: BenchStack) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withStackOnce(settings, keepData, body);
    } catch (err) {
      // The free ports are chosen before the stack binds them, so another program (a test suite running
      // beside the quick bench, say) can take one in between: start again on new ports.
      if (!(err instanceof PortTaken) || attempt === 3) throw err;
      console.error(
        `bench: a port was taken while the stack started (${err.message.split('\n')[0]}); trying new ports`,
      );
    }
  }
}

class PortTaken extends Error {}

/**
 * A start-up that lost a port race. Besides EADDRINUSE, the Temporal dev server chooses its HTTP API port itself and,
 * when another process takes it first, panics at start-up (a nil listener in NewHTTPAPIServer, seen in CI) instead of
 * naming the port: a dev server that exits during start-up is started again on new ports too (3 attempts in all).
 */
const portRace = (message: string): boolean =>
  /EADDRINUSE|address already in use|^temporal exited during start-up/i.test(message);

async function withStackOnce<T>(
  settings: EngineSettings,
  keepData: boolean,
  body: (s: BenchStack) => Promise<T>,
): Promise<T> {
  const store = settings.store ?? 'files';
  const database = store === 'postgres' ? await createBenchDatabase(settings.pgUrl ?? DEFAULT_PG_URL) : undefined;
  try {
    return await withStackOn(settings, keepData, store, database, body);
  } finally {
    if (database && !keepData) await database.drop();
    else if (database) console.error(`bench: database ${database.name} kept (${database.url})`);
  }
}

async function withStackOn<T>(
  settings: EngineSettings,
  keepData: boolean,
  store: StoreKind,
  database: BenchDatabase | undefined,
  body: (s: BenchStack) => Promise<T>,
): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), 'llmbatch-bench-'));
  const [temporal, ui, provider, api] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // Inherited LLMBATCH_* / OPENAI_* / SIM_* settings would skew the comparison (or reach a real,
  // billed provider): engine and simulator run on their defaults plus what is set here.
  const inherited = Object.keys(process.env).filter((k) => /^(LLMBATCH|OPENAI|SIM)_/.test(k));
  const env: Record<string, string | undefined> = {
    ...Object.fromEntries(inherited.map((k) => [k, undefined])),
    LLMBATCH_DATA_DIR: dataDir,
    // The data plane: PostgreSQL when set (the API and every worker read it), else files under the data dir.
    DATABASE_URL: database?.url,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TEMPORAL_UI_PORT: String(ui),
    PROVIDER_PORT: String(provider),
    API_PORT: String(api),
    API_HOST: '127.0.0.1',
    // Local mode (one tenant, no keys, loopback only), as `npm start` and the demo run: the API
    // refuses to start in keys mode without LLMBATCH_TENANTS, which were cleared above.
    LLMBATCH_AUTH: 'local',
    LLMBATCH_CHUNK_SIZE: String(settings.chunkSize),
    LLMBATCH_MAX_CHUNKS_IN_FLIGHT: String(settings.maxChunksInFlight),
    LLMBATCH_ITEM_CONCURRENCY: String(settings.itemConcurrency),
    LLMBATCH_WORKER_CONCURRENCY: String(settings.workerConcurrency),
    ...settings.engineEnv,
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const assign = (vars: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  assign(env);
  let ok = false;
  try {
    const config = loadConfig(process.env);
    const stack = await startStack(config, { providerEnv: settings.simEnv }).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      throw portRace(message) ? new PortTaken(message) : err;
    });
    live.add(stack);
    try {
      await addWorkers(stack, (settings.workers ?? 1) - 1);
      const result = await body({
        stack,
        api: stack.urls.api,
        simOrigin: `http://127.0.0.1:${provider}`,
        dataDir,
        store,
        database,
      });
      ok = true;
      return result;
    } finally {
      live.delete(stack);
      await stack.stop();
    }
  } finally {
    assign(saved);
    if (ok && !keepData) await rm(dataDir, { recursive: true, force: true });
    else console.error(`bench: stack data and logs kept in ${dataDir}`);
  }
}

/**
 * Extra worker processes beside the one startStack started, launched the same way (tsx entry, the
 * environment withStack set). They join stack.children, so stack.stop() stops them first.
 */
async function addWorkers(stack: Stack, count: number): Promise<void> {
  const started = Array.from({ length: count }, (_, i) => {
    const child = new ManagedChild({ name: `worker-${i + 2}`, ...tsEntry('src/worker/workerMain.ts') }, stack.logDir);
    stack.children.push(child);
    return child.waitForLine(/llmbatch worker on task queue/, 120_000);
  });
  await Promise.all(started);
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

/** Changes simulator knobs at runtime (latency, limits, background traffic). */
export const simConfigure = (simOrigin: string, patch: Record<string, unknown>): Promise<unknown> =>
  json(`${simOrigin}/_sim/config`, { method: 'POST', body: JSON.stringify(patch) });
/**
 * Forgets the counts; with `rateLimits`, the limits start from
 * full buckets (a fresh window) or drained ones (a window in use).
 */
export const simReset = (simOrigin: string, body: { rateLimits?: 'full' | 'empty' } = {}): Promise<unknown> =>
  json(`${simOrigin}/_sim/reset`, { method: 'POST', body: JSON.stringify(body) });
/** Realtime calls the simulator answered since the last reset (retries would show up here). */
export const simCalls = async (simOrigin: string): Promise<number> =>
  (await json<{ total: number }>(`${simOrigin}/_sim/stats`)).total;

export interface BatchRun {
  id: string;
  /** performance.now() marks, and Date.now() at the start (to line up with Temporal's event times). */
  epochStart: number;
  postMs: number;
  /** POST start until a poll saw status !== 'running'. */
  doneMs: number;
  /** POST start until the results were read (and verified). */
  resultsMs: number;
  /** Round trip of the poll that saw the batch finished (a query on a closed workflow). */
  lastPollMs: number;
  pollMs: number;
}

/**
 * One batch through the API (with `options`, if any), timed from the POST to the last result read; throws unless
 * all N succeeded.
 */
export async function runBatch(
  api: string,
  requests: BatchLine[],
  pollMs: number,
  options?: Record<string, unknown>,
): Promise<BatchRun> {
  const body = JSON.stringify(options ? { requests, options } : { requests });
  const epochStart = Date.now();
  const t0 = performance.now();
  const created = await json<{ id: string }>(`${api}/batches`, { method: 'POST', body });
  const postMs = performance.now() - t0;
  let status = 'running';
  let lastPollMs = 0;
  while (status === 'running') {
    await new Promise((r) => setTimeout(r, pollMs));
    const sent = performance.now();
    status = (await json<{ status: string }>(`${api}/batches/${created.id}`)).status;
    lastPollMs = performance.now() - sent;
  }
  const doneMs = performance.now() - t0;
  const res = await fetch(`${api}/batches/${created.id}/results`);
  if (!res.ok) throw new Error(`GET results of ${created.id}: ${res.status}`);
  const text = await res.text();
  const resultsMs = performance.now() - t0;
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BatchOutputLine);
  const distinct = new Set(lines.map((l) => l.custom_id));
  const failed = lines.filter((l) => l.error !== null || (l.response?.status_code ?? 0) >= 300);
  const missing = requests.filter((r) => !distinct.has(r.custom_id)).length;
  if (
    status !== 'completed' ||
    lines.length !== requests.length ||
    distinct.size !== requests.length ||
    missing > 0 ||
    failed.length > 0
  ) {
    throw new Error(
      `batch ${created.id}: expected ${requests.length} distinct successful results from a completed batch, ` +
        `got status ${status}, ${lines.length} lines, ${distinct.size} distinct custom_ids, ${missing} missing, ` +
        `${failed.length} failed` +
        (failed[0] ? ` (first: ${JSON.stringify(failed[0].error)})` : ''),
    );
  }
  return { id: created.id, epochStart, postMs, doneMs, resultsMs, lastPollMs, pollMs };
}
