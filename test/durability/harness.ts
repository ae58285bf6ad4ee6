/**
 * Real processes for the durability tests: a Temporal dev server (the CLI binary, persisted to a
 * SQLite file in a temp dir), workers run as `node --import tsx src/worker/workerMain.ts`, and an
 * in-process simulator. Everything a harness starts is stopped by `shutdown()`, which the tests
 * call from `afterAll` whatever happened.
 */
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ManagedChild, tsEntry } from '../../src/cli/processes';
import { loadConfig } from '../../src/config';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/provider';
import {
  batchWorkflowId,
  type BatchLine,
  type BatchOutputLine,
  type BatchWorkflowInput,
  type LaneRef,
} from '../../src/shared/contracts';
import type { NativeBatchInput } from '../../src/shared/native';
import { FileBatchStore } from '../../src/storage/fileStore';
import { isSuccess } from '../../src/storage/types';
import { requireTemporalCliPath } from '../../src/devServer/binary';
import { devServerCommand } from '../../src/devServer/command';

/** The simulator's chat calls so far: answered 200, answered 429, and all. */
export function chatCounts(sim: Simulator): { ok: number; limited: number; all: number } {
  const byStatus = sim.stats().requests['/v1/chat/completions'] ?? {};
  return {
    ok: byStatus['200'] ?? 0,
    limited: byStatus['429'] ?? 0,
    all: Object.values(byStatus).reduce((a, b) => a + b, 0),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
    s.once('error', fail);
  });
}

/**
 * Polls `check` until it returns true (a check that throws counts as false); throws naming `what`
 * when the time runs out, or at once when `failIf` returns a reason.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  opts: { everyMs?: number; failIf?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = opts.failIf?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(opts.everyMs ?? 200);
  }
}

/** SIGKILL to the child's whole process group (no clean-up handlers run), then wait for the exit. */
export async function killHard(child: ManagedChild): Promise<void> {
  if (!child.running || child.process.pid === undefined) return;
  try {
    process.kill(-child.process.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await child.exitPromise;
}

export interface HarnessOptions {
  name: string;
  sim?: SimulatorOptions;
  /** Extra worker environment (LLMBATCH_MAX_CHUNKS_IN_FLIGHT, LLMBATCH_ITEM_CONCURRENCY, ...). */
  workerEnv?: NodeJS.ProcessEnv;
  /** Worker processes `useHarness` starts (default 1). */
  workers?: number;
  /**
   * PostgreSQL as the data plane: every worker and API process gets this DATABASE_URL and an empty data
   * dir of its own (`dataDirs`), so that they share nothing but the database.
   */
  databaseUrl?: string;
}

/** The engine knobs these tests vary, as the worker's environment. */
export function engineEnv(maxChunksInFlight: number, itemConcurrency: number): NodeJS.ProcessEnv {
  return {
    LLMBATCH_MAX_CHUNKS_IN_FLIGHT: String(maxChunksInFlight),
    LLMBATCH_ITEM_CONCURRENCY: String(itemConcurrency),
  };
}

/**
 * One harness for a test file: started before its tests and shut down after them, keeping the
 * logs unless the test called `markPassed()`.
 */
export function useHarness(options: HarnessOptions): { h: Harness; markPassed: () => void } {
  const h = new Harness(options);
  let passed = false;
  beforeAll(() => h.start({ workers: options.workers }), 180_000);
  afterAll(() => h.shutdown(!passed), 60_000);
  return {
    h,
    markPassed: () => {
      passed = true;
    },
  };
}

/** The store holds every input custom_id exactly once, each a success; returns the results. */
export async function expectEveryIdOnce(h: Harness, batchId: string, lines: BatchLine[]): Promise<BatchOutputLine[]> {
  const results = await collect(h.store.streamResults(batchId));
  const ids = results.map((r) => r.custom_id);
  expect(ids.length).toBe(lines.length);
  expect(new Set(ids).size).toBe(lines.length);
  expect([...ids].sort()).toEqual(lines.map((l) => l.custom_id).sort());
  expect(results.every(isSuccess)).toBe(true);
  return results;
}

export class Harness {
  readonly dir: string;
  readonly logDir: string;
  readonly taskQueue = `durability-${randomUUID()}`;
  readonly store: FileBatchStore;
  readonly temporalCli = requireTemporalCliPath();
  sim!: Simulator;
  port!: number;
  uiPort!: number;
  /** Every dev server process started, the current one last. */
  readonly servers: ManagedChild[] = [];
  readonly workers: ManagedChild[] = [];
  readonly apis: ManagedChild[] = [];
  /** With `databaseUrl`: each process's own data dir, which must stay free of batch data. */
  readonly dataDirs: string[] = [];
  /** Where workers reach the provider, when not the simulator itself (e.g. a ProviderProxy in front of it). */
  providerUrl?: string;
  private connection?: Connection;
  private clientCache?: Client;

  constructor(readonly options: HarnessOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `llmbatch-${options.name}-`));
    this.logDir = join(this.dir, 'logs');
    this.store = new FileBatchStore(this.dir);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Simulator, dev server and `workers` worker processes (one by default). */
  async start({ workers = 1 }: { workers?: number } = {}): Promise<void> {
    this.sim = await startSimulator({ seed: 11, ...this.options.sim });
    this.port = await freePort();
    this.uiPort = await freePort(); // unused (--headless) but must be a valid port
    await this.startServer();
    for (let i = 0; i < workers; i++) await this.startWorker();
  }

  /**
   * The dev server as `npm run temporal` runs it (our flags, persistent --db-filename <dir>/temporal.sqlite), headless;
   * the same port and file on every start.
   */
  serverArgs(): string[] {
    const config = loadConfig({
      LLMBATCH_DATA_DIR: this.dir,
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_UI_PORT: String(this.uiPort),
    });
    return [...devServerCommand(config).args, '--headless'];
  }

  get server(): ManagedChild | undefined {
    return this.servers[this.servers.length - 1];
  }

  async startServer(): Promise<void> {
    this.assertOpen();
    const server = new ManagedChild(
      { name: `temporal-${this.servers.length + 1}`, command: this.temporalCli, args: this.serverArgs() },
      this.logDir,
    );
    this.servers.push(server);
    await waitFor(
      'the Temporal dev server',
      async () => {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return true;
        } finally {
          await connection.close();
        }
      },
      60_000,
      { failIf: () => (server.running ? undefined : 'it exited') },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${server.tail()}`);
    });
  }

  private closed = false;

  private assertOpen(): void {
    if (this.closed)
      throw new Error(`${this.options.name}: harness already shut down (the test ran past its timeout?)`);
  }

  /**
   * `waitFor` that gives up when the harness is shut down (a timed-out test must not start
   * processes after afterAll) or when the current worker has died on its own.
   */
  waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<void> {
    return waitFor(what, check, timeoutMs, {
      everyMs,
      failIf: () => {
        if (this.closed) return 'the harness was shut down';
        const worker = this.workers[this.workers.length - 1];
        return worker && !worker.running ? `${worker.spec.name} exited:\n${worker.tail()}` : undefined;
      },
    });
  }

  /** Stops the dev server's process group: SIGTERM (graceful) or SIGKILL (harsh). */
  async stopServer(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const server = this.server;
    if (!server) return;
    if (signal === 'SIGKILL') await killHard(server);
    else await server.stop(15_000);
  }

  workerEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_TASK_QUEUE: this.taskQueue,
      LLMBATCH_DATA_DIR: this.dir,
      OPENAI_BASE_URL: this.providerUrl ?? this.sim.url,
      OPENAI_API_KEY: 'sk-durability',
      ...this.options.workerEnv,
    };
    if (this.options.databaseUrl) {
      const own = mkdtempSync(join(this.dir, `data-${this.dataDirs.length + 1}-`));
      this.dataDirs.push(own);
      Object.assign(env, { DATABASE_URL: this.options.databaseUrl, LLMBATCH_DATA_DIR: own });
    }
    delete env.NODE_OPTIONS; // jest's, if any, are not the worker's
    return env;
  }

  /** The API as a real child process on a free port (local mode); resolves with its origin once it listens. */
  async startApi(env: NodeJS.ProcessEnv = {}): Promise<{ child: ManagedChild; base: string }> {
    this.assertOpen();
    const port = await freePort();
    const child = new ManagedChild(
      {
        name: `api-${this.apis.length + 1}`,
        ...tsEntry('src/api/apiMain.ts'),
        env: { ...this.workerEnv(), LLMBATCH_AUTH: 'local', API_HOST: '127.0.0.1', API_PORT: String(port), ...env },
      },
      this.logDir,
    );
    this.apis.push(child);
    await child.waitForLine(/llmbatch API listening/, 120_000);
    return { child, base: `http://127.0.0.1:${port}` };
  }

  /** A worker as a real child process; resolves once it says it polls the task queue. */
  async startWorker(): Promise<ManagedChild> {
    this.assertOpen();
    const worker = new ManagedChild(
      { name: `worker-${this.workers.length + 1}`, ...tsEntry('src/worker/workerMain.ts'), env: this.workerEnv() },
      this.logDir,
    );
    this.workers.push(worker);
    await worker.waitForLine(/llmbatch worker on task queue/, 120_000);
    return worker;
  }

  get worker(): ManagedChild {
    const w = this.workers[this.workers.length - 1];
    if (!w) throw new Error('no worker started');
    return w;
  }

  /** A client on this harness's server; `fresh` drops the old connection (after a server restart). */
  async client(fresh = false): Promise<Client> {
    if (fresh && this.connection) {
      await this.connection.close().catch(() => undefined);
      this.connection = undefined;
      this.clientCache = undefined;
    }
    if (!this.clientCache) {
      this.connection = await Connection.connect({ address: this.address });
      this.clientCache = new Client({ connection: this.connection });
    }
    return this.clientCache;
  }

  /** Writes the input to the store and starts `batchWorkflow` on it, as the API does. */
  async startBatch(
    lines: BatchLine[],
    opts: { chunkSize: number; maxChunksInFlight: number; lane?: LaneRef; maxAttempts?: number },
  ): Promise<{ batchId: string; input: BatchWorkflowInput }> {
    const batchId = randomUUID();
    const manifest = await this.store.putInput(batchId, lines, opts.chunkSize);
    const input: BatchWorkflowInput = {
      batchId,
      total: manifest.total,
      chunkCount: manifest.chunkCount,
      chunkSize: manifest.chunkSize,
      maxChunksInFlight: opts.maxChunksInFlight,
      lane: opts.lane,
      maxAttempts: opts.maxAttempts,
    };
    const client = await this.client();
    await client.workflow.start('batchWorkflow', {
      workflowId: batchWorkflowId(batchId),
      taskQueue: this.taskQueue,
      args: [input],
    });
    return { batchId, input };
  }

  /** Writes the input to the store and starts `nativeBatchWorkflow` on it, as the API does for mode "native". */
  async startNativeBatch(
    lines: BatchLine[],
    opts: { chunkSize: number; input?: Partial<NativeBatchInput> },
  ): Promise<{ batchId: string; input: NativeBatchInput }> {
    const batchId = randomUUID();
    const manifest = await this.store.putInput(batchId, lines, opts.chunkSize);
    const input: NativeBatchInput = { batchId, total: manifest.total, chunkCount: manifest.chunkCount, ...opts.input };
    const client = await this.client();
    await client.workflow.start('nativeBatchWorkflow', {
      workflowId: batchWorkflowId(batchId),
      taskQueue: this.taskQueue,
      args: [input],
    });
    return { batchId, input };
  }

  resultsDir(batchId: string): string {
    return join(this.dir, 'batches', batchId, 'results');
  }

  /** Runs the real Temporal CLI against this harness's server (async: the simulator lives in this process). */
  temporal(args: string[]): Promise<string> {
    return new Promise((ok, fail) => {
      execFile(
        this.temporalCli,
        [...args, '--address', this.address],
        { encoding: 'utf8', timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err) fail(new Error(`temporal ${args.join(' ')} failed: ${err.message}\n${stderr}`));
          else ok(stdout);
        },
      );
    });
  }

  /** The process groups of every child this harness started (each child leads its own group). */
  processGroups(): number[] {
    return [...this.servers, ...this.workers, ...this.apis]
      .map((c) => c.process.pid)
      .filter((p): p is number => p !== undefined);
  }

  /** Every process this harness started, stopped; the simulator closed; the temp dir removed unless `keep`. */
  async shutdown(keep: boolean): Promise<void> {
    this.closed = true;
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const w of [...this.apis, ...this.workers]) await attempt(() => w.stop(10_000));
    await attempt(async () => this.connection?.close());
    for (const s of this.servers) await attempt(() => s.stop(10_000));
    if (this.sim) await attempt(() => this.sim.close());
    const left = await liveProcessesInGroups(this.processGroups());
    if (left.length) errors.push(new Error(`processes left running:\n${left.join('\n')}`));
    if (keep) console.log(`[${this.options.name}] kept data and logs in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}

/** Counts the raw lines in a batch's result files (duplicates included); re-reads only files that grew. */
export class RawResultCounter {
  private readonly seen = new Map<string, { size: number; lines: number }>();
  constructor(private readonly dir: string) {}

  async count(): Promise<number> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    let total = 0;
    for (const f of files) {
      const path = join(this.dir, f);
      const { size } = await stat(path);
      let entry = this.seen.get(f);
      if (!entry || entry.size !== size) {
        const text = await readFile(path, 'utf8');
        entry = { size, lines: text.split('\n').filter((l) => l.startsWith('{')).length };
        this.seen.set(f, entry);
      }
      total += entry.lines;
    }
    return total;
  }
}

export interface RawResults {
  /** Parsed lines, duplicates included. */
  lines: number;
  /** Lines torn by a kill mid-write (not JSON). */
  torn: number;
  /** custom_id -> how many times it appears in the raw log. */
  perId: Map<string, number>;
  /** custom_ids recorded more than once in the raw log. */
  duplicatedIds: string[];
}

/** Reads the append-only result files directly, without the store's deduplication. */
export async function readRawResults(dir: string): Promise<RawResults> {
  const perId = new Map<string, number>();
  let lines = 0;
  let torn = 0;
  for (const f of (await readdir(dir)).sort()) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line) continue;
      try {
        const r = JSON.parse(line) as BatchOutputLine;
        lines += 1;
        perId.set(r.custom_id, (perId.get(r.custom_id) ?? 0) + 1);
      } catch {
        torn += 1;
      }
    }
  }
  return { lines, torn, perId, duplicatedIds: [...perId].filter(([, n]) => n > 1).map(([id]) => id) };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Distinct chat requests (the simulator answers each body deterministically). */
export function chatLines(n: number, prefix: string): BatchLine[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `${prefix}-${i}`,
    method: 'POST' as const,
    url: '/v1/chat/completions' as const,
    body: {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `${prefix} request ${i}: summarise this ticket` }],
    },
  }));
}

/** Live (non-zombie) processes in the given process groups: each child of ours leads its own group. */
export function liveProcessesInGroups(groups: number[]): Promise<string[]> {
  const wanted = new Set(groups);
  return new Promise((ok) => {
    execFile('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' }, (_err, stdout) => {
      ok(
        (stdout ?? '')
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => {
            const [, pgid, stat] = l.split(/\s+/);
            return wanted.has(Number(pgid)) && !(stat ?? '').startsWith('Z');
          }),
      );
    });
  });
}

export interface ProxyRule {
  method: string;
  path: RegExp;
  /** Hold the provider's answer this long before passing it on (the provider has already acted). */
  holdMs?: number;
  /** Pass the answer's body on at this rate. */
  bytesPerSecond?: number;
}

export interface ProxyLogEntry {
  name: string;
  path: string;
  at: number;
  doneAt?: number;
  /** The provider's status, once its answer is passed on. */
  status?: number;
}

/**
 * An HTTP proxy in front of the simulator that slows chosen routes, so that a test can kill a worker
 * inside a phase that is otherwise too quick to hit: an upload or a create whose answer is held (the
 * provider has done it; the worker has not heard), a download trickling in. It counts each rule's
 * requests and the answers it is holding or trickling right now, and logs when each was answered and
 * how (a rule without hold or trickle only times the answers).
 */
export class ProviderProxy {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly active: Map<string, number>,
    private readonly seen: Map<string, number>,
    /** Every request a rule matched: when it arrived, when its answer went out (or the client left), its status. */
    readonly log: ProxyLogEntry[],
  ) {}

  static async start(target: string, rules: Record<string, ProxyRule>): Promise<ProviderProxy> {
    const upstream = new URL(target);
    const active = new Map<string, number>();
    const seen = new Map<string, number>();
    const log: ProxyLogEntry[] = [];
    const bump = (map: Map<string, number>, name: string | undefined, by: number): void => {
      if (name !== undefined) map.set(name, (map.get(name) ?? 0) + by);
    };
    const server = createHttpServer((req, res) => {
      res.on('error', () => undefined); // a killed worker's socket
      const name = Object.keys(rules).find(
        (k) => rules[k]?.method === req.method && rules[k]?.path.test((req.url ?? '').split('?')[0] ?? ''),
      );
      const rule = name === undefined ? undefined : rules[name];
      bump(seen, name, 1);
      const entry: ProxyLogEntry | undefined =
        name === undefined ? undefined : { name, path: (req.url ?? '').split('?')[0] ?? '', at: Date.now() };
      if (entry) log.push(entry);
      res.on('close', () => {
        if (entry) entry.doneAt = Date.now();
      });
      const up = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (upRes: IncomingMessage) => {
          void (async () => {
            const parts: Buffer[] = [];
            for await (const c of upRes) parts.push(c as Buffer);
            const body = Buffer.concat(parts);
            const headers = { ...upRes.headers, 'content-length': String(body.length) };
            delete headers['transfer-encoding'];
            delete headers.connection;
            bump(active, name, 1);
            try {
              if (rule?.holdMs) await sleep(rule.holdMs);
              if (res.destroyed) return;
              if (entry) entry.status = upRes.statusCode;
              res.writeHead(upRes.statusCode ?? 502, headers);
              if (!rule?.bytesPerSecond) return void res.end(body);
              const slice = 16 * 1024;
              for (let at = 0; at < body.length && !res.destroyed; at += slice) {
                res.write(body.subarray(at, at + slice));
                await sleep((slice / rule.bytesPerSecond) * 1000);
              }
              res.end();
            } finally {
              bump(active, name, -1);
            }
          })().catch(() => res.destroy());
        },
      );
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(up);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    return new ProviderProxy(server, `http://127.0.0.1:${port}${upstream.pathname}`, active, seen, log);
  }

  /** Answers of this rule being held or trickled right now. */
  inFlight(name: string): number {
    return this.active.get(name) ?? 0;
  }

  /** The paths of this rule's requests not yet answered (held, trickling, or still at the provider). */
  pendingPaths(name: string): string[] {
    return this.log.filter((e) => e.name === name && e.doneAt === undefined).map((e) => e.path);
  }

  /** Requests of this rule so far. */
  requests(name: string): number {
    return this.seen.get(name) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}
