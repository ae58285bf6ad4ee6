/**
 * The data plane under load, on one stack (file store or PostgreSQL):
 *   6. POST latency with many earlier batches: small batches POSTed on a store holding only the
 *      bench's few earlier batches, then again after `earlierBatches` ended batches were put in it
 *   5. ingest and download: the download of `ingestLines` results (of a batch the bench writes straight
 *      into the store: running a million items is bench:large's job), then an NDJSON POST of as many lines
 * with the API's resident memory sampled throughout.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFile, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { makeReviewRequests } from '../examples/reviews';
import { OWNER_RECORD, type OwnerRecord } from '../src/api/owner';
import { loadConfig } from '../src/config';
import { batchWorkflowId, type BatchLine, type BatchOutputLine, type BatchProgress } from '../src/shared/contracts';
import { FileBatchStore } from '../src/storage/fileStore';
import { PostgresBatchStore } from '../src/storage/postgres/batchStore';
import { PostgresSlotStore } from '../src/storage/postgres/slots';
import type { BatchStore } from '../src/storage/types';
import { cpuMeter, waitQuiet, type CpuSample } from './cpu';
import { downloadProblem, downloadResults } from './download';
import type { BenchOptions } from './options';
import { sampleRss, type RssFigures } from './rss';
import { childPids, runBatch, simConfigure, type BenchStack, type StoreKind } from './stack';

export const TARGETS = { ingestLps: 50_000, downloadLps: 100_000, apiRssMb: 256, postRatio: 1.2 };

const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;

export interface PostSide {
  /** Batches in the store when the first of these POSTs was sent. */
  earlierBatches: number;
  /** Each POST /batches round trip (201), in order. */
  postMs: number[];
  /** GET /batches?limit=20 round trips, one after each POST's batch ended. */
  listMs: number[];
}

export interface PostLatencyResult {
  store: StoreKind;
  size: number;
  before: PostSide;
  after: PostSide;
  /** How long putting the earlier batches into the store took, and how many went in. */
  fill: { batches: number; ms: number };
  /** Median POST after / before. */
  ratio: number;
}

export interface IngestResult {
  store: StoreKind;
  lines: number;
  bytes: number;
  ingest: { ms: number; lps: number; rss: RssFigures; cpu: CpuSample };
  /** How the batch to download was made, and how long that took (not timed as the download). */
  fill: { ms: number; how: string };
  download: { ms: number; lps: number; bytes: number; rss: RssFigures; cpu: CpuSample };
  /** The API's VmHWM at the end: its peak resident memory since the stack started. */
  apiHighWaterMb: number;
}

export interface DataResult {
  store: StoreKind;
  post?: PostLatencyResult;
  ingest?: IngestResult;
}

function storeOf(s: BenchStack): BatchStore {
  if (s.store === 'postgres') {
    if (!s.database) throw new Error('a PostgreSQL stack without its database');
    return new PostgresBatchStore(s.database.pool());
  }
  return new FileBatchStore(s.dataDir);
}

async function countBatches(s: BenchStack): Promise<number> {
  if (s.database) {
    const { rows } = await s.database.pool().query<{ n: number }>('SELECT count(*)::int AS n FROM batches');
    return rows[0]?.n ?? 0;
  }
  const names = await readdir(join(s.dataDir, 'batches')).catch(() => [] as string[]);
  return names.filter((n) => !n.includes('.')).length;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

async function timedList(api: string): Promise<number> {
  const t0 = performance.now();
  const page = await json<{ data: unknown[] }>(`${api}/batches?limit=20`);
  if (page.data.length === 0) throw new Error('GET /batches listed no batches');
  return performance.now() - t0;
}

/** `runs` small batches, one at a time (each run to its end and its results checked), and a listing after each. */
async function postSide(
  s: BenchStack,
  o: BenchOptions,
  lines: BatchLine[],
  say: (m: string) => void,
): Promise<PostSide> {
  await waitQuiet(o.quietWaitS * 1000, say);
  const side: PostSide = { earlierBatches: await countBatches(s), postMs: [], listMs: [] };
  for (let i = 0; i < o.postRuns; i++) {
    side.postMs.push((await runBatch(s.api, lines, o.smallPollMs)).postMs);
    side.listMs.push(await timedList(s.api));
  }
  return side;
}

const completedOutcome = (batchId: string, at: string): BatchProgress => ({
  batchId,
  status: 'completed',
  total: 1,
  succeeded: 1,
  failed: 0,
  pending: 0,
  chunksInFlight: 0,
  itemsInFlight: 0,
  priority: 3,
  maxChunksInFlight: 16,
  tokensIn: 30,
  tokensOut: 2,
  cacheHits: 0,
  startedAt: at,
  updatedAt: at,
  ratePerSecond: 1,
  eta: null,
  runs: 1,
  lane: null,
  mode: 'realtime',
  modeReason: null,
  costUsd: 0,
});

/**
 * `n` ended batches of one item each, as the API and a worker would have left them: on PostgreSQL a
 * quota slot taken and marked started, then the input, the owner record and the outcome (which ends the
 * slot); on files the input, the owner record and the outcome. Ids sort before any the API gives later.
 */
async function putEarlierBatches(s: BenchStack, n: number, say: (m: string) => void): Promise<number> {
  const store = storeOf(s);
  const slots = s.database ? new PostgresSlotStore(s.database.pool()) : undefined;
  const line = makeReviewRequests(1, 3)[0] as BatchLine;
  const t0 = performance.now();
  const base = Date.now() - n - 60_000;
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const batchId = `batch_${(base + i).toString(16).padStart(12, '0')}${randomBytes(6).toString('hex')}`;
    const at = new Date(base + i).toISOString();
    if (slots) {
      const taken = await slots.take({ tenant: 'local', batchId, limit: 1_000_000 });
      if (taken.outcome !== 'taken') throw new Error(`earlier batch ${batchId}: slot ${taken.outcome}`);
    }
    await store.putInput(batchId, [line], 100);
    const owner: OwnerRecord = { tenant: 'local', createdAt: at, api: 'project', total: 1, mode: 'realtime' };
    await store.putRecord(batchId, OWNER_RECORD, owner);
    await slots?.markStarted(batchId);
    await store.putOutcome(batchId, completedOutcome(batchId, at));
  };
  const lane = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      await one(i);
      if ((i + 1) % 2000 === 0) say(`  ${i + 1} of ${n} earlier batches in the store`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return performance.now() - t0;
}

const WARM_POSTS = 5;

/** Scenario 6 on this stack. */
export async function postLatency(
  s: BenchStack,
  o: BenchOptions,
  say: (m: string) => void,
): Promise<PostLatencyResult> {
  const lines = makeReviewRequests(o.smallSize, 12);
  say(
    `scenario 6 (${s.store}): ${o.postRuns} POSTs of a ${o.smallSize}-item batch, each run to its end (after ` +
      `${WARM_POSTS} untimed ones)`,
  );
  // This API has seen only the large batches of the scenarios before: its small-POST path is warmed first.
  for (let i = 0; i < WARM_POSTS; i++) await runBatch(s.api, lines, o.smallPollMs);
  const before = await postSide(s, o, lines, say);
  say(`scenario 6 (${s.store}): putting ${o.earlierBatches} ended batches into the store`);
  const fillMs = await putEarlierBatches(s, o.earlierBatches, say);
  const after = await postSide(s, o, lines, say);
  const ratio = percentile(after.postMs, 50) / percentile(before.postMs, 50);
  say(
    `scenario 6 (${s.store}): POST median ${percentile(before.postMs, 50).toFixed(1)} ms with ` +
      `${before.earlierBatches} earlier batches, ` +
      `${percentile(after.postMs, 50).toFixed(1)} ms with ${after.earlierBatches} (${ratio.toFixed(2)}×); each ` +
      `POST in ms, before: ${before.postMs.map((x) => x.toFixed(0)).join(' ')}; after: ` +
      `${after.postMs.map((x) => x.toFixed(0)).join(' ')}`,
  );
  return { store: s.store, size: o.smallSize, before, after, fill: { batches: o.earlierBatches, ms: fillMs }, ratio };
}

const SLICE = 10_000;

/**
 * Review requests short enough that a million fit the default
 * 200 MiB upload limit as NDJSON (no system prompt), in slices.
 */
function* ndjsonSlices(n: number): Generator<BatchLine[]> {
  for (let start = 0; start < n; start += SLICE) {
    yield makeReviewRequests(Math.min(SLICE, n - start), 1000 + start).map((l, i) => ({
      custom_id: ingestId(start + i),
      method: l.method,
      url: l.url,
      body: { model: l.body.model, max_tokens: 5, messages: (l.body.messages as unknown[]).slice(1) },
    }));
  }
}

function* ndjsonLines(n: number): Generator<BatchLine> {
  for (const slice of ndjsonSlices(n)) yield* slice;
}

/** The NDJSON body, in the bench's memory before the POST so that making it costs nothing during it. */
function ndjson(n: number): { chunks: Buffer[]; bytes: number } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for (const slice of ndjsonSlices(n)) {
    const buf = Buffer.from(slice.map((l) => `${JSON.stringify(l)}\n`).join(''));
    chunks.push(buf);
    bytes += buf.length;
  }
  return { chunks, bytes };
}

const ingestId = (i: number): string => `i-${String(i + 1).padStart(7, '0')}`;
const ingestIndex = (customId: string): number => (customId.startsWith('i-') ? Number(customId.slice(2)) - 1 : -1);

/** One streamed NDJSON POST /batches; resolves with the created batch once the API has answered. */
function postNdjson(api: string, body: Buffer[]): Promise<{ id: string; total: number }> {
  return new Promise((ok, fail) => {
    const req = request(
      `${api}/batches`,
      { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          if (res.statusCode !== 201)
            return fail(new Error(`NDJSON POST /batches: ${res.statusCode} ${text.slice(0, 500)}`));
          ok(JSON.parse(text) as { id: string; total: number });
        });
      },
    );
    req.on('error', fail);
    void (async () => {
      for (const chunk of body) if (!req.write(chunk)) await once(req, 'drain');
      req.end();
    })().catch(fail);
  });
}

/**
 * Waits for the batch's workflow to close (its in-flight chunks
 * have stopped, not only been asked to), and says how it ended.
 */
async function waitClosed(s: BenchStack, id: string): Promise<string> {
  const connection = await Connection.connect({ address: s.stack.urls.temporal });
  try {
    await new Client({ connection }).workflow
      .getHandle(batchWorkflowId(id))
      .result()
      .catch(() => undefined);
  } finally {
    await connection.close();
  }
  return (await json<{ status: string }>(`${s.api}/batches/${id}`)).status;
}

/** A real result line from the simulator, to give the written results a realistic size and shape. */
async function resultTemplate(s: BenchStack, o: BenchOptions): Promise<BatchOutputLine> {
  const run = await runBatch(s.api, makeReviewRequests(1, 9), o.smallPollMs);
  const text = await (await fetch(`${s.api}/batches/${run.id}/results`)).text();
  return JSON.parse(text.split('\n')[0] ?? '') as BatchOutputLine;
}

/**
 * Results for every item of the batch, written straight into the store (what the worker writes, shaped
 * like `template`): PostgreSQL by one INSERT … SELECT over generate_series, files as the chunks' result files.
 */
async function fillResults(s: BenchStack, batchId: string, n: number, template: BatchOutputLine): Promise<string> {
  const manifest = await storeOf(s).getManifest(batchId);
  if (!manifest) throw new Error(`batch ${batchId} has no manifest`);
  const size = manifest.chunkSize;
  if (manifest.chunkCount !== Math.ceil(n / size))
    throw new Error(`batch ${batchId}: ${manifest.chunkCount} chunks, expected ${Math.ceil(n / size)} of ${size}`);
  const marked = JSON.stringify({ ...template, id: '@@ID@@', custom_id: '@@CID@@' });
  if (s.database) {
    const format = marked.replace(/%/g, '%%').replace('@@ID@@', '%1$s').replace('@@CID@@', '%2$s');
    await s.database.pool().query(
      `INSERT INTO results (batch_id, custom_id, chunk, succeeded, line)
       SELECT $1, 'i-' || lpad(i::text, 7, '0'), (i - 1) / $3, true,
              format($2, 'batch_req_' || substr(md5(i::text), 1, 24), 'i-' || lpad(i::text, 7, '0'))
       FROM generate_series(1, $4::int) AS i
       ON CONFLICT (batch_id, custom_id) DO NOTHING`,
      [batchId, format, size, n],
    );
    await s.database.pool().query('ANALYZE results');
    return (
      'one `INSERT … SELECT` over `generate_series` into `results` (a real simulator result line as the ' +
      `template, ${Buffer.byteLength(marked)} bytes), then \`ANALYZE\``
    );
  }
  const dir = join(s.dataDir, 'batches', batchId, 'results');
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let c = next++; c < manifest.chunkCount; c = next++) {
      const parts: string[] = [];
      for (let i = c * size; i < Math.min(n, (c + 1) * size); i++) {
        const line = marked.replace('@@ID@@', `batch_req_${i.toString(16).padStart(24, '0')}`);
        parts.push(`\n${line.replace('@@CID@@', ingestId(i))}\n`);
      }
      await appendFile(join(dir, `${String(c).padStart(7, '0')}.jsonl`), parts.join(''));
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return (
    "the chunks' result files appended by the bench process in the store's framing (a real simulator result line " +
    `as the template, ${Buffer.byteLength(marked)} bytes)`
  );
}

/**
 * The batch to download: the same lines as the NDJSON POST, written through the store by the bench with
 * the owner record and a completed outcome, and a result for every item (see fillResults).
 */
async function downloadBatch(
  s: BenchStack,
  n: number,
  template: BatchOutputLine,
): Promise<{ batchId: string; how: string }> {
  const store = storeOf(s);
  const batchId = `batch_${(Date.now() - 1000).toString(16).padStart(12, '0')}${randomBytes(6).toString('hex')}`;
  await store.putInput(batchId, ndjsonLines(n), loadConfig({}).batch.chunkSize);
  const at = new Date().toISOString();
  const owner: OwnerRecord = { tenant: 'local', createdAt: at, api: 'project', total: n, mode: 'realtime' };
  await store.putRecord(batchId, OWNER_RECORD, owner);
  await store.putOutcome(batchId, { ...completedOutcome(batchId, at), total: n, succeeded: n });
  const how = await fillResults(s, batchId, n, template);
  return {
    batchId,
    how:
      `the input through \`${s.database ? 'PostgresBatchStore' : 'FileBatchStore'}.putInput\` with its owner ` +
      `record and outcome, then the results: ${how}`,
  };
}

/** Scenario 5 on this stack: the download first, then the ingest, so that each phase's memory is its own. */
export async function ingestAndDownload(
  s: BenchStack,
  o: BenchOptions,
  say: (m: string) => void,
): Promise<IngestResult> {
  const n = o.ingestLines;
  const template = await resultTemplate(s, o);
  const pids = childPids(s);
  const watched = { api: pids.api, worker: pids.worker };
  const groups = { api: pids.api, worker: pids.worker, temporal: pids.temporal };

  say(`scenario 5 (${s.store}): writing a batch of ${n} items and their results into the store`);
  const f0 = performance.now();
  const made = await downloadBatch(s, n, template);
  const fill = { ms: performance.now() - f0, how: made.how };
  await waitQuiet(o.quietWaitS * 1000, say);
  let rss = sampleRss(watched);
  let cpu = cpuMeter(groups, s.database?.name);
  const d = await downloadResults(s.api, made.batchId, n, ingestIndex);
  const download = { ms: d.ms, lps: n / (d.ms / 1000), bytes: d.bytes, rss: rss(), cpu: cpu() };
  const problem = downloadProblem(d, n);
  if (problem) throw new Error(`scenario 5 (${s.store}) download: ${problem}`);
  say(
    `scenario 5 (${s.store}): download ${d.ms.toFixed(0)} ms, ${download.lps.toFixed(0)} lines/s, API RSS peak ` +
      `${download.rss.peakMb.api?.toFixed(0)} MB; CPU s ` +
      `${JSON.stringify(download.cpu.byName, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`,
  );

  const body = ndjson(n);
  say(`scenario 5 (${s.store}): NDJSON POST of ${n} lines (${(body.bytes / 2 ** 20).toFixed(0)} MiB)`);
  await waitQuiet(o.quietWaitS * 1000, say);
  rss = sampleRss(watched);
  cpu = cpuMeter(groups, s.database?.name);
  const t0 = performance.now();
  const created = await postNdjson(s.api, body.chunks);
  const ingestMs = performance.now() - t0;
  const ingest = { ms: ingestMs, lps: n / (ingestMs / 1000), rss: rss(), cpu: cpu() };
  if (created.total !== n) throw new Error(`NDJSON POST: total ${created.total}, sent ${n}`);
  say(
    `scenario 5 (${s.store}): ingest ${ingestMs.toFixed(0)} ms, ${ingest.lps.toFixed(0)} lines/s, API RSS peak ` +
      `${ingest.rss.peakMb.api?.toFixed(0)} MB`,
  );
  // The batch would run a million items against the simulator (bench:large's job): cancelled at once.
  await json(`${s.api}/batches/${created.id}/cancel`, { method: 'POST', body: '{}' });
  const status = await waitClosed(s, created.id);
  say(
    `scenario 5 (${s.store}): the ingested batch ${status} after ${await countResults(s, created.id)} of its items ran`,
  );
  const apiHighWaterMb = ingest.rss.highWaterMb.api ?? NaN;
  return { store: s.store, lines: n, bytes: body.bytes, ingest, fill, download, apiHighWaterMb };
}

async function countResults(s: BenchStack, batchId: string): Promise<number> {
  if (s.database) {
    const { rows } = await s.database
      .pool()
      .query<{ n: number }>('SELECT count(*)::int AS n FROM results WHERE batch_id = $1', [batchId]);
    return rows[0]?.n ?? 0;
  }
  let n = 0;
  for await (const _ of new FileBatchStore(s.dataDir).streamResults(batchId)) n += 1;
  return n;
}

/**
 * Scenarios 6 then 5 on a stack that has run the throughput scenarios (their few batches are the
 * "few earlier batches"); the simulator is set to zero latency first.
 */
export async function dataScenarios(s: BenchStack, o: BenchOptions, say: (m: string) => void): Promise<DataResult> {
  await simConfigure(s.simOrigin, { latencyMedianMs: 0, latencyP99Ms: 0 });
  const post = o.earlierBatches > 0 ? await postLatency(s, o, say) : undefined;
  const ingest = o.ingestLines > 0 ? await ingestAndDownload(s, o, say) : undefined;
  return { store: s.store, post, ingest };
}
