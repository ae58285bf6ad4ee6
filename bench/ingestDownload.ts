/**
 * Scenario 5, ingest and download: the download of `ingestLines` results (of a batch the bench writes straight
 * into the store: running a million items is bench:large's job), then an NDJSON POST of as many lines,
 * with the API's resident memory sampled throughout.
 */
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { batchWorkflowId, type BatchOutputLine } from '../src/shared/contracts';
import { cpuMeter, waitQuiet, type CpuSample } from './cpu';
import { countResults, json } from './dataStore';
import { downloadBatch, resultTemplate } from './downloadBatch';
import { downloadProblem, downloadResults } from './download';
import { ingestIndex, ndjson, postNdjson } from './ingestBody';
import type { BenchOptions } from './options';
import { sampleRss, type RssFigures } from './rss';
import { childPids, type BenchStack, type StoreKind } from './stack';

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

/** Starts sampling the API's and the worker's memory and metering the stack's CPU; each call ends one. */
function startMeters(s: BenchStack): { rss: () => RssFigures; cpu: () => CpuSample } {
  const pids = childPids(s);
  const rss = sampleRss({ api: pids.api, worker: pids.worker });
  const cpu = cpuMeter({ api: pids.api, worker: pids.worker, temporal: pids.temporal }, s.database?.name);
  return { rss, cpu };
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

/** The batch to download written into the store (not timed), then its results downloaded and checked. */
async function timedDownload(
  s: BenchStack,
  o: BenchOptions,
  template: BatchOutputLine,
  say: (m: string) => void,
): Promise<Pick<IngestResult, 'fill' | 'download'>> {
  const n = o.ingestLines;
  say(`scenario 5 (${s.store}): writing a batch of ${n} items and their results into the store`);
  const f0 = performance.now();
  const made = await downloadBatch(s, n, template);
  const fill = { ms: performance.now() - f0, how: made.how };
  await waitQuiet(o.quietWaitS * 1000, say);
  const { rss, cpu } = startMeters(s);
  const d = await downloadResults(s.api, made.batchId, n, ingestIndex);
  const download = { ms: d.ms, lps: n / (d.ms / 1000), bytes: d.bytes, rss: rss(), cpu: cpu() };
  const problem = downloadProblem(d, n);
  if (problem) throw new Error(`scenario 5 (${s.store}) download: ${problem}`);
  say(
    `scenario 5 (${s.store}): download ${d.ms.toFixed(0)} ms, ${download.lps.toFixed(0)} lines/s, API RSS peak ` +
      `${download.rss.peakMb.api?.toFixed(0)} MB; CPU s ` +
      `${JSON.stringify(download.cpu.byName, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`,
  );
  return { fill, download };
}

/** The NDJSON POST of `ingestLines` lines, timed from the first byte sent to the 201; the batch's id. */
async function timedIngest(
  s: BenchStack,
  o: BenchOptions,
  say: (m: string) => void,
): Promise<Pick<IngestResult, 'bytes' | 'ingest'> & { batchId: string }> {
  const n = o.ingestLines;
  const body = ndjson(n);
  say(`scenario 5 (${s.store}): NDJSON POST of ${n} lines (${(body.bytes / 2 ** 20).toFixed(0)} MiB)`);
  await waitQuiet(o.quietWaitS * 1000, say);
  const { rss, cpu } = startMeters(s);
  const t0 = performance.now();
  const created = await postNdjson(s.api, body.chunks);
  const ingestMs = performance.now() - t0;
  const ingest = { ms: ingestMs, lps: n / (ingestMs / 1000), rss: rss(), cpu: cpu() };
  if (created.total !== n) throw new Error(`NDJSON POST: total ${created.total}, sent ${n}`);
  say(
    `scenario 5 (${s.store}): ingest ${ingestMs.toFixed(0)} ms, ${ingest.lps.toFixed(0)} lines/s, API RSS peak ` +
      `${ingest.rss.peakMb.api?.toFixed(0)} MB`,
  );
  return { bytes: body.bytes, ingest, batchId: created.id };
}

/** Scenario 5 on this stack: the download first, then the ingest, so that each phase's memory is its own. */
export async function ingestAndDownload(
  s: BenchStack,
  o: BenchOptions,
  say: (m: string) => void,
): Promise<IngestResult> {
  const template = await resultTemplate(s, o);
  const { fill, download } = await timedDownload(s, o, template, say);
  const { bytes, ingest, batchId } = await timedIngest(s, o, say);
  // The batch would run a million items against the simulator (bench:large's job): cancelled at once.
  await json(`${s.api}/batches/${batchId}/cancel`, { method: 'POST', body: '{}' });
  const status = await waitClosed(s, batchId);
  say(`scenario 5 (${s.store}): the ingested batch ${status} after ${await countResults(s, batchId)} of its items ran`);
  const apiHighWaterMb = ingest.rss.highWaterMb.api ?? NaN;
  return { store: s.store, lines: o.ingestLines, bytes, ingest, fill, download, apiHighWaterMb };
}
