/** A chunk's counts and token usage, from its recorded results. */
import type { ItemMetrics } from '../metrics/workerMetrics';
import type { BatchOutputLine, ModelPrice } from '../shared/contracts';
import { ItemErrorCode } from '../shared/failures';
import { isSuccess } from '../storage/types';
import { isCacheHit } from './chunkCache';

export interface ChunkResult {
  chunk: number;
  succeeded: number;
  failed: number;
  /** Prompt and completion tokens the provider reported for this chunk's successes. */
  tokensIn: number;
  tokensOut: number;
  /** Items answered from the response cache: no provider call, and no tokens (they cost nothing). */
  cacheHits: number;
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
}

/** Prompt and completion tokens of a recorded answer (chat/embeddings: prompt/completion, responses: input/output). */
export function tokensOf(r: BatchOutputLine): { tokensIn: number; tokensOut: number } {
  const usage = (r.response?.body as { usage?: Usage } | null)?.usage;
  return {
    tokensIn: usage?.prompt_tokens ?? usage?.input_tokens ?? 0,
    tokensOut: usage?.completion_tokens ?? usage?.output_tokens ?? 0,
  };
}

/**
 * Counts and token usage of one chunk's recorded results (chat/embeddings report prompt/completion, responses
 * input/output). Cache hits carry the usage of the call that first paid for them: counted as hits, not tokens.
 */
export function summarizeChunk(chunk: number, results: BatchOutputLine[]): ChunkResult {
  const summary: ChunkResult = { chunk, succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, cacheHits: 0 };
  for (const r of results) {
    if (!isSuccess(r)) {
      summary.failed += 1;
      continue;
    }
    summary.succeeded += 1;
    if (isCacheHit(r)) {
      summary.cacheHits += 1;
      continue;
    }
    const t = tokensOf(r);
    summary.tokensIn += t.tokensIn;
    summary.tokensOut += t.tokensOut;
  }
  return summary;
}

/** One recorded result in the metrics, classified as summarizeChunk counts it (a dead letter is a failure there). */
export function countItem(items: ItemMetrics, r: BatchOutputLine, price: ModelPrice | undefined): void {
  if (!isSuccess(r)) {
    const code = r.error?.code ?? '';
    if (code === ItemErrorCode.RetriesExhausted) items.deadLettered(code);
    else items.failed(code);
  } else if (isCacheHit(r)) items.cacheHit();
  else {
    const t = tokensOf(r);
    items.succeeded(t.tokensIn, t.tokensOut, price);
  }
}
