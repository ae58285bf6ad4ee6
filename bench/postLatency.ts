/**
 * Scenario 6, POST latency with many earlier batches: small batches POSTed on a store holding only the
 * bench's few earlier batches, then again after `earlierBatches` ended batches were put in it.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { makeReviewRequests } from '../examples/reviews';
import { OWNER_RECORD, type OwnerRecord } from '../src/api/owner';
import type { BatchLine } from '../src/shared/contracts';
import { PostgresSlotStore } from '../src/storage/postgres/slots';
import { waitQuiet } from './cpu';
import { completedOutcome, countBatches, json, storeOf } from './dataStore';
import type { BenchOptions } from './options';
import { runBatch, type BenchStack, type StoreKind } from './stack';

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
