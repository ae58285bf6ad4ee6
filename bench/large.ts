/**
 * `npm run bench:large -- [items] [--store files|postgres] [--pg-url URL] [--out FILE]` (default 1,000,000 items on
 * the file store): one realtime batch of that many items through the real stack against the zero-latency
 * simulator. Checks what the design promises at that size: every custom_id exactly once (read back through
 * the API's results download), and no workflow run's history past Temporal's 10,240-event warning (the
 * workflow continues as new). Reports the worker's and the API's peak resident memory and, on PostgreSQL,
 * the largest tables. Prints the figures and writes them to docs/benchmarks.md, replacing the previous
 * section of the same data plane.
 *
 * The input goes to the store directly (with the owner record the API needs to serve the batch) and the
 * workflow is started as the API would: a JSON POST of a million requests is beyond the API's documented
 * 100 MB body limit, and the NDJSON POST is measured by `npm run bench` (scenario 5).
 */
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { makeReviewRequests } from '../examples/reviews';
import { OWNER_RECORD, type OwnerRecord } from '../src/api/owner';
import { loadConfig, type Config } from '../src/config';
import {
  batchWorkflowId,
  type BatchLine,
  type BatchWorkflowInput,
  type BatchWorkflowResult,
} from '../src/shared/contracts';
import { estimateTokens } from '../src/shared/tokens';
import { FileBatchStore } from '../src/storage/fileStore';
import { PostgresBatchStore } from '../src/storage/postgres/batchStore';
import type { BatchManifest, BatchStore } from '../src/storage/types';
import { cpuMeter } from './cpu';
import { downloadResults } from './download';
import { largeSection, writeSection, type LargeRun } from './largeReport';
import { DEFAULT_PG_URL, serverInfo, tableSizes } from './postgres';
import { sampleRss } from './rss';
import {
  childPids,
  STORE_LABEL,
  stopAll,
  withStack,
  type BenchStack,
  type EngineSettings,
  type StoreKind,
} from './stack';

const SLICE = 10_000;

function* lines(n: number): Generator<BatchLine> {
  // Generated in slices so a million request bodies never sit in memory at once.
  for (let start = 0; start < n; start += SLICE) {
    for (const l of makeReviewRequests(Math.min(SLICE, n - start), start + 1))
      yield { ...l, custom_id: `r-${start}-${l.custom_id}` };
  }
}

/** Item number of a custom_id made by `lines` (`r-<slice start>-review-<n from 1>`), or -1. */
function itemOf(customId: string): number {
  const m = /^r-(\d+)-review-(\d+)$/.exec(customId);
  return m ? Number(m[1]) + Number(m[2]) - 1 : -1;
}

function parseArgs(argv: string[]): { items: number; store: StoreKind; pgUrl: string; out: string } {
  let items = 1_000_000;
  let out = 'docs/benchmarks.md';
  let store: StoreKind = 'files';
  let pgUrl = process.env.BENCH_PG_URL ?? DEFAULT_PG_URL;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] = a.split(/=(.*)/s);
    const value = (): string => inline ?? argv[++i] ?? '';
    if (flag === '--store') {
      const v = value();
      if (v !== 'files' && v !== 'postgres') throw new Error(`--store: files or postgres, got ${JSON.stringify(v)}`);
      store = v;
    } else if (flag === '--pg-url') pgUrl = value();
    else if (flag === '--out') out = value();
    else if (/^\d+$/.test(a) && Number(a) > 0) items = Number(a);
    else
      throw new Error(
        `unknown argument ${a}\nusage: npm run bench:large -- [items] [--store files|postgres] [--pg-url ` +
          'postgres://…/postgres] [--out docs/benchmarks.md, "" to print only]',
      );
  }
  return { items, store, pgUrl, out };
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirBytes(path) : (await stat(path)).size;
  }
  return total;
}

/**
 * The input written to the store directly, with the owner record the API needs to serve the batch;
 * chunks are cut by size and by the engine's token budget, as the API cuts them.
 */
async function putLargeInput(
  store: BatchStore,
  items: number,
  chunkSize: number,
  chunkTokens: number,
): Promise<{ batchId: string; manifest: BatchManifest; ingestS: number }> {
  const batchId = randomUUID();
  const t0 = performance.now();
  const manifest = await store.putInput(batchId, lines(items), chunkSize, { max: chunkTokens, of: estimateTokens });
  const owner: OwnerRecord = {
    tenant: 'local',
    createdAt: new Date().toISOString(),
    api: 'project',
    total: manifest.total,
    mode: 'realtime',
  };
  await store.putRecord(batchId, OWNER_RECORD, owner);
  const ingestS = (performance.now() - t0) / 1000;
  console.log(`  input stored in ${ingestS.toFixed(1)} s (${manifest.chunkCount} chunks)`);
  return { batchId, manifest, ingestS };
}

/** Every 10 s, a line at each further 50,000 items done, until the returned function is called. */
function logProgress(handle: WorkflowHandle, t1: number): () => void {
  let last = 0;
  const timer = setInterval(() => {
    void handle.query('progress').then(
      (p) => {
        const { succeeded, runs } = p as { succeeded: number; runs: number };
        if (succeeded - last >= 50_000)
          console.log(
            `  ${succeeded} done, run ${runs}, ${Math.round(succeeded / ((performance.now() - t1) / 1000))} req/s`,
          );
        last = succeeded - (succeeded % 50_000);
      },
      () => undefined,
    );
  }, 10_000);
  return () => clearInterval(timer);
}

/** The batch's workflow started as the API would start it, and run to its end. */
async function runWorkflow(
  client: Client,
  config: Config,
  input: BatchWorkflowInput,
): Promise<{ result: BatchWorkflowResult; runS: number }> {
  const handle = await client.workflow.start('batchWorkflow', {
    workflowId: batchWorkflowId(input.batchId),
    taskQueue: config.temporal.taskQueue,
    args: [input],
  });
  const t1 = performance.now();
  const stop = logProgress(handle, t1);
  const result = (await handle.result().finally(stop)) as BatchWorkflowResult;
  return { result, runS: (performance.now() - t1) / 1000 };
}

/** History length of every run of the batch's continue-as-new chain. */
async function historyLengths(client: Client, batchId: string): Promise<number[]> {
  const lengths: number[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${batchWorkflowId(batchId)}'` }))
    lengths.push(w.historyLength);
  return lengths;
}

/** The large batch on this stack: input, run, read back, with memory sampled from the input write on. */
async function runLarge(s: BenchStack, items: number, settings: EngineSettings): Promise<LargeRun> {
  const config = loadConfig(process.env); // withStack has set the stack's environment
  const store: BatchStore = s.database ? new PostgresBatchStore(s.database.pool()) : new FileBatchStore(s.dataDir);
  const pids = childPids(s);
  const rss = sampleRss({ worker: pids.worker, api: pids.api, temporal: pids.temporal }, 500);
  const { batchId, manifest, ingestS } = await putLargeInput(
    store,
    items,
    settings.chunkSize,
    config.batch.chunkTokens,
  );
  const connection = await Connection.connect({ address: s.stack.urls.temporal });
  const client = new Client({ connection });
  try {
    const input: BatchWorkflowInput = {
      batchId,
      total: manifest.total,
      chunkCount: manifest.chunkCount,
      chunkSize: manifest.chunkSize,
      maxChunksInFlight: settings.maxChunksInFlight,
    };
    const cpu = cpuMeter(
      { worker: pids.worker, api: pids.api, temporal: pids.temporal, provider: pids.provider },
      s.database?.name,
    );
    const { result, runS } = await runWorkflow(client, config, input);
    const runCpu = cpu();
    const lengths = await historyLengths(client, batchId);
    // Read back as a user would: through the API's results download, every custom_id once.
    const download = await downloadResults(s.api, batchId, items, itemOf);
    const memory = rss();
    const sizes = s.database ? await tableSizes(s.database.pool()) : undefined;
    const dataBytes = s.database ? undefined : await dirBytes(join(s.dataDir, 'batches', batchId));
    return {
      items,
      chunks: manifest.chunkCount,
      ingestS,
      runS,
      runCpu,
      result,
      lengths,
      download,
      memory,
      sizes,
      dataBytes,
    };
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { items, store, pgUrl, out } = parseArgs(argv);
  const command = `npm run bench:large${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const settings = {
    chunkSize: 100,
    maxChunksInFlight: 16,
    itemConcurrency: 64,
    workerConcurrency: 64,
    simEnv: {},
    store,
    pgUrl,
  };
  console.log(
    `bench:large: ${items} items on the ${STORE_LABEL[store]}, SIMULATED provider (zero latency, not a real ` +
      'LLM), one worker process',
  );
  const postgres = store === 'postgres' ? await serverInfo(pgUrl) : undefined;
  const startedAt = new Date();
  const report = await withStack(settings, false, (s) => runLarge(s, items, settings));
  const context = { command, startedAt, store, postgres, workerConcurrency: settings.workerConcurrency };
  const { text, ok } = largeSection(report, context);
  console.log(text);
  if (out) writeSection(out, text, store === 'postgres');
  if (!ok) process.exit(1);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
