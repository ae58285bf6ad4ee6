/**
 * The `retryDeadLetters` signal's store work: an ended batch's dead letters (its failed results) are
 * removed with their failure counts, so the batch workflow can run their chunks again, each item with a
 * fresh retry budget. Nothing else changes: succeeded results stay, and are not called again.
 */
import type { ChunkCounts } from '../shared/counts';
import type { ReopenDeadLettersInput, ReopenedDeadLetters } from '../shared/retry';
import type { BatchStore } from '../storage/types';
import { summarizeChunk } from './chunkSummary';

/**
 * `attempt` is the activity's attempt: a first one runs exactly the chunks it reopened; a retried one may
 * follow an attempt that reopened some chunks and died before answering, so it looks at every chunk for
 * items without a result (in an ended batch, only reopened ones have none).
 */
export async function reopenDeadLetters(
  store: BatchStore,
  { batchId, chunkCount }: ReopenDeadLettersInput,
  attempt: number,
): Promise<ReopenedDeadLetters> {
  const reopened = await store.reopenFailed(batchId);
  const candidates = attempt === 1 ? [...reopened.keys()] : Array.from({ length: chunkCount }, (_, c) => c);
  const kept: Record<number, ChunkCounts> = {};
  let missing = 0;
  for (const chunk of candidates.sort((a, b) => a - b)) {
    const [lines, results] = await Promise.all([store.getChunk(batchId, chunk), store.getChunkResults(batchId, chunk)]);
    const without = lines.length - results.size;
    if (without <= 0) continue;
    missing += without;
    const { chunk: _, ...counts } = summarizeChunk(chunk, [...results.values()]);
    kept[chunk] = counts;
  }
  return { reopened: missing, kept };
}
