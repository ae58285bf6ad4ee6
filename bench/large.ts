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
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { makeReviewRequests } from '../examples/reviews';
import { OWNER_RECORD, type OwnerRecord } from '../src/api/owner';
import { loadConfig } from '../src/config';
import { batchWorkflowId, type BatchLine, type BatchWorkflowInput } from '../src/shared/contracts';
import { estimateTokens } from '../src/shared/tokens';
import { FileBatchStore } from '../src/storage/fileStore';
import { PostgresBatchStore } from '../src/storage/postgres/batchStore';
import type { BatchStore } from '../src/storage/types';
import { cpuMeter } from './cpu';
import { downloadProblem, downloadResults } from './download';
import { int, md } from './format';
import { DEFAULT_PG_URL, serverInfo, tableSizes, type TableSize } from './postgres';
import { sampleRss } from './rss';
import { childPids, STORE_LABEL, stopAll, withStack, type StoreKind } from './stack';

const HISTORY_WARNING = 10_240;
const TARGET_MB = { worker: 512, api: 256 };
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

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { items, store: storeKind, pgUrl, out } = parseArgs(argv);
  const command = `npm run bench:large${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const settings = {
    chunkSize: 100,
    maxChunksInFlight: 16,
    itemConcurrency: 64,
    workerConcurrency: 64,
    simEnv: {},
    store: storeKind,
    pgUrl,
  };
  console.log(
    `bench:large: ${items} items on the ${STORE_LABEL[storeKind]}, SIMULATED provider (zero latency, not a real ` +
      'LLM), one worker process',
  );
  const postgres = storeKind === 'postgres' ? await serverInfo(pgUrl) : undefined;
  const startedAt = new Date();
  const report = await withStack(settings, false, async (s) => {
    const config = loadConfig(process.env); // withStack has set the stack's environment
    const store: BatchStore = s.database ? new PostgresBatchStore(s.database.pool()) : new FileBatchStore(s.dataDir);
    const pids = childPids(s);
    const rss = sampleRss({ worker: pids.worker, api: pids.api, temporal: pids.temporal }, 500);
    const batchId = randomUUID();
    const t0 = performance.now();
    const manifest = await store.putInput(batchId, lines(items), settings.chunkSize, {
      max: config.batch.chunkTokens,
      of: estimateTokens,
    });
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
      const handle = await client.workflow.start('batchWorkflow', {
        workflowId: batchWorkflowId(batchId),
        taskQueue: config.temporal.taskQueue,
        args: [input],
      });
      const t1 = performance.now();
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
      const result = await handle.result().finally(() => clearInterval(timer));
      const runS = (performance.now() - t1) / 1000;
      const runCpu = cpu();
      // Every run of the chain: its history length.
      const lengths: number[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${batchWorkflowId(batchId)}'` }))
        lengths.push(w.historyLength);
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
  });
  const maxHistory = Math.max(...report.lengths);
  const problem = downloadProblem(report.download, items);
  const runPeak = (name: string): number => report.memory.peakMb[name] ?? NaN;
  const hwm = (name: string): number => report.memory.highWaterMb[name] ?? NaN;
  // A high-water mark already reached before the run started belongs to the process's start-up (the worker
  // bundles the workflow code with webpack when it starts), not to the batch.
  const hwmNote = (name: string): string =>
    (report.memory.highWaterBeforeMb[name] ?? 0) >= hwm(name) - 1
      ? 'reached before the batch started, at ' +
        `start-up${name === 'worker' ? ', where the Temporal SDK bundles the workflow code with webpack' : ''}`
      : 'reached during the run';
  const memoryOk = runPeak('worker') <= TARGET_MB.worker && runPeak('api') <= TARGET_MB.api;
  const ok =
    report.result.status === 'completed' &&
    report.result.succeeded === items &&
    problem === undefined &&
    maxHistory < HISTORY_WARNING;
  const cpuMs = (name: string): string => (((report.runCpu.byName[name] ?? 0) * 1000) / items).toFixed(3);
  const onPg = storeKind === 'postgres';
  const text = [
    `## Large batch${onPg ? ' on PostgreSQL' : ''} (\`${command}\`), ` +
      `${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- ${int(items)} chat items in ${int(report.chunks)} chunks, zero-latency **simulated** provider, one worker ` +
      `process, ${settings.workerConcurrency} requests in flight; data plane: ` +
      `${onPg ? `PostgreSQL (${postgres ?? ''}; a fresh database for the run, dropped after)` : 'the file store'}.`,
    `- Input written to the store directly by the bench (${STORE_LABEL[storeKind]}, not through the API) in ` +
      `${report.ingestS.toFixed(0)} s; workflow start to completion ${report.runS.toFixed(0)} s ` +
      `(${int(items / report.runS)} req/s).`,
    `- ${int(report.result.succeeded)} succeeded, ${int(report.result.failed)} failed. Read back through the API ` +
      `(\`GET /batches/:id/results\`): ${int(report.download.lines)} lines, ${int(report.download.distinct)} ` +
      `distinct custom_ids, ${report.download.duplicates} duplicates, ${report.download.unknown} unknown, in ` +
      `${(report.download.ms / 1000).toFixed(1)} s (${int(items / (report.download.ms / 1000))} lines/s, ` +
      `${MiB(report.download.bytes)})${problem ? `: **${problem}**` : ': every custom_id exactly once'}.`,
    `- ${report.lengths.length} workflow runs (continue-as-new); longest history ${int(maxHistory)} events ` +
      `(Temporal warns at ${int(HISTORY_WARNING)}).`,
    '- Resident memory, sampled every 500 ms from the input write to the end of the download: worker peak ' +
      `**${int(runPeak('worker'))} MB** (target ≤ ${TARGET_MB.worker} MB), API peak **${int(runPeak('api'))} MB** ` +
      `(target ≤ ${TARGET_MB.api} MB; it served the download above), Temporal dev server ` +
      `${int(runPeak('temporal'))} MB: ${memoryOk ? 'PASS' : 'MISS'}. ` +
      `Before the batch (the stack started, idle): worker ${int(report.memory.firstMb.worker ?? NaN)} MB, API ` +
      `${int(report.memory.firstMb.api ?? NaN)} MB. ` +
      `The kernel's high-water mark (VmHWM) over each process's whole life: worker ${int(hwm('worker'))} MB ` +
      `(${hwmNote('worker')}), API ${int(hwm('api'))} MB (${hwmNote('api')}).`,
    `- CPU per item over the run: worker ${cpuMs('worker')} ms, simulator ${cpuMs('provider')} ms, Temporal ` +
      `${cpuMs('temporal')} ms${onPg ? `, PostgreSQL backends ${cpuMs('postgres')} ms` : ''}, API ${cpuMs('api')} ` +
      'ms.',
    ...(report.sizes
      ? [
          `- Database size at the end ${MiB(report.sizes.databaseBytes)}; the largest tables ` +
            '(`pg_total_relation_size`: table, TOAST and indexes):',
          '',
          md(
            ['table', 'rows', 'size'],
            report.sizes.tables.slice(0, 6).map((t: TableSize) => [`\`${t.table}\``, int(t.rows), MiB(t.bytes)]),
          ),
          '',
        ]
      : [`- The batch's directory in the data dir at the end: ${MiB(report.dataBytes ?? 0)}.`]),
    `- ${ok ? 'PASS' : 'FAIL'} (every custom_id once, history under the ` +
      `warning)${memoryOk ? '' : '; memory over target'}.`,
    '',
  ].join('\n');
  console.log(text);
  if (out) writeSection(out, text, onPg);
  if (!ok) process.exit(1);
}

/** Replaces the previous `## Large batch` section of the same data plane, or appends one. */
function writeSection(path: string, text: string, onPg: boolean): void {
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const parts = previous
    .split(/^(?=## )/m)
    .map((p) => p.trimEnd())
    .filter(Boolean);
  const mine = (p: string): boolean =>
    /^## Large batch\b/.test(p) && /^## Large batch on PostgreSQL\b/.test(p) === onPg;
  const at = parts.findIndex(mine);
  const next = parts.flatMap((p, i) => (i === at ? [text.trimEnd()] : mine(p) ? [] : [p]));
  if (at < 0) next.push(text.trimEnd());
  writeFileSync(path, `${next.join('\n\n')}\n`);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
