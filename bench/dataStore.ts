/**
 * What the data-plane scenarios (5 and 6) read and write around the API: the stack's store, opened
 * directly as the API and worker open it, counts of its batches and results, and JSON calls to the API.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchProgress } from '../src/shared/contracts';
import { FileBatchStore } from '../src/storage/fileStore';
import { PostgresBatchStore } from '../src/storage/postgres/batchStore';
import type { BatchStore } from '../src/storage/types';
import type { BenchStack } from './stack';

export function storeOf(s: BenchStack): BatchStore {
  if (s.store === 'postgres') {
    if (!s.database) throw new Error('a PostgreSQL stack without its database');
    return new PostgresBatchStore(s.database.pool());
  }
  return new FileBatchStore(s.dataDir);
}

export async function countBatches(s: BenchStack): Promise<number> {
  if (s.database) {
    const { rows } = await s.database.pool().query<{ n: number }>('SELECT count(*)::int AS n FROM batches');
    return rows[0]?.n ?? 0;
  }
  const names = await readdir(join(s.dataDir, 'batches')).catch(() => [] as string[]);
  return names.filter((n) => !n.includes('.')).length;
}

export async function countResults(s: BenchStack, batchId: string): Promise<number> {
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

export async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).slice(0, 500)}`);
  return (await res.json()) as T;
}

/** The outcome a worker stores for a completed one-item realtime batch, as of `at`. */
export const completedOutcome = (batchId: string, at: string): BatchProgress => ({
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
  repaired: 0,
  invalidOutput: 0,
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
