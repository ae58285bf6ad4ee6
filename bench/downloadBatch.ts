/**
 * Scenario 5's batch to download, written straight into the store by the bench (running a million
 * items is bench:large's job): the input, the owner record, a completed outcome and a result per item.
 */
import { randomBytes } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { makeReviewRequests } from '../examples/reviews';
import { OWNER_RECORD, type OwnerRecord } from '../src/api/owner';
import { loadConfig } from '../src/config';
import type { BatchOutputLine } from '../src/shared/contracts';
import { completedOutcome, storeOf } from './dataStore';
import { ingestId, ndjsonLines } from './ingestBody';
import type { BenchOptions } from './options';
import { runBatch, type BenchStack } from './stack';

/** A real result line from the simulator, to give the written results a realistic size and shape. */
export async function resultTemplate(s: BenchStack, o: BenchOptions): Promise<BatchOutputLine> {
  const run = await runBatch(s.api, makeReviewRequests(1, 9), o.smallPollMs);
  const text = await (await fetch(`${s.api}/batches/${run.id}/results`)).text();
  return JSON.parse(text.split('\n')[0] ?? '') as BatchOutputLine;
}

/** PostgreSQL: one INSERT … SELECT over generate_series, each line `marked` with its ids filled in. */
async function insertResults(pool: Pool, batchId: string, n: number, size: number, marked: string): Promise<void> {
  const format = marked.replace(/%/g, '%%').replace('@@ID@@', '%1$s').replace('@@CID@@', '%2$s');
  await pool.query(
    `INSERT INTO results (batch_id, custom_id, chunk, succeeded, line)
       SELECT $1, 'i-' || lpad(i::text, 7, '0'), (i - 1) / $3, true,
              format($2, 'batch_req_' || substr(md5(i::text), 1, 24), 'i-' || lpad(i::text, 7, '0'))
       FROM generate_series(1, $4::int) AS i
       ON CONFLICT (batch_id, custom_id) DO NOTHING`,
    [batchId, format, size, n],
  );
  await pool.query('ANALYZE results');
}

/** Files: each chunk's result file appended in the store's framing, 8 chunks at a time. */
async function appendResultFiles(dir: string, n: number, size: number, marked: string): Promise<void> {
  const chunkCount = Math.ceil(n / size);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let c = next++; c < chunkCount; c = next++) {
      const parts: string[] = [];
      for (let i = c * size; i < Math.min(n, (c + 1) * size); i++) {
        const line = marked.replace('@@ID@@', `batch_req_${i.toString(16).padStart(24, '0')}`);
        parts.push(`\n${line.replace('@@CID@@', ingestId(i))}\n`);
      }
      await appendFile(join(dir, `${String(c).padStart(7, '0')}.jsonl`), parts.join(''));
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
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
    await insertResults(s.database.pool(), batchId, n, size, marked);
    return (
      'one `INSERT … SELECT` over `generate_series` into `results` (a real simulator result line as the ' +
      `template, ${Buffer.byteLength(marked)} bytes), then \`ANALYZE\``
    );
  }
  await appendResultFiles(join(s.dataDir, 'batches', batchId, 'results'), n, size, marked);
  return (
    "the chunks' result files appended by the bench process in the store's framing (a real simulator result line " +
    `as the template, ${Buffer.byteLength(marked)} bytes)`
  );
}

/**
 * The batch to download: the same lines as the NDJSON POST, written through the store by the bench with
 * the owner record and a completed outcome, and a result for every item (see fillResults).
 */
export async function downloadBatch(
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
