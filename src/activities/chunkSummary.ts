/** A chunk's counts and token usage, from its recorded results. */
import type { ItemMetrics } from '../metrics/workerMetrics';
import type { BatchOutputLine, ModelPrice } from '../shared/contracts';
import { DEAD_LETTER_CODES, ItemErrorCode } from '../shared/failures';
import { emptyCounts, type ChunkCounts } from '../shared/counts';
import { isSuccess } from '../storage/types';
import { isCacheHit } from './chunkCache';

/**
 * A chunk's counts: tokens are those the provider reported for its successes; cache hits cost none (no
 * provider call).
 */
export interface ChunkResult extends ChunkCounts {
  chunk: number;
}

interface ReportedUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
}

export interface Usage {
  tokensIn: number;
  tokensOut: number;
}

/** The tokens a provider's answer body reports (chat/embeddings: prompt/completion, responses: input/output). */
export function usageOf(body: unknown): Usage {
  const usage = (body as { usage?: ReportedUsage } | null)?.usage;
  return {
    tokensIn: usage?.prompt_tokens ?? usage?.input_tokens ?? 0,
    tokensOut: usage?.completion_tokens ?? usage?.output_tokens ?? 0,
  };
}

/**
 * Prompt and completion tokens of a recorded answer (chat/embeddings: prompt/completion, responses: input/output),
 * or of every call behind it when it took more than one (repairs, pipeline steps).
 */
export function tokensOf(r: BatchOutputLine): Usage {
  return r.llmbatch?.usage ?? usageOf(r.response?.body);
}

/**
 * Counts and token usage of one chunk's recorded results (chat/embeddings report prompt/completion, responses
 * input/output). Cache hits carry the usage of the call that first paid for them: counted as hits, not tokens.
 */
export function summarizeChunk(chunk: number, results: BatchOutputLine[]): ChunkResult {
  const summary: ChunkResult = { chunk, ...emptyCounts() };
  for (const r of results) {
    countOutput(summary, r);
    if (!isSuccess(r)) {
      summary.failed += 1;
      // What a failed item's calls cost (its repairs, its earlier steps) is spent all the same.
      if (r.llmbatch?.usage) addTokens(summary, r.llmbatch.usage);
      continue;
    }
    summary.succeeded += 1;
    if (isCacheHit(r)) {
      summary.cacheHits += 1;
      continue;
    }
    addTokens(summary, tokensOf(r));
  }
  return summary;
}

function addTokens(summary: ChunkCounts, t: Usage): void {
  summary.tokensIn += t.tokensIn;
  summary.tokensOut += t.tokensOut;
}

/** Repairs, invalid outputs and pipeline steps: counted only when the chunk has some. */
function countOutput(summary: ChunkCounts, r: BatchOutputLine): void {
  const repairs = r.llmbatch?.repairs ?? 0;
  if (repairs > 0) summary.repaired = (summary.repaired ?? 0) + repairs;
  if (r.error?.code === ItemErrorCode.InvalidOutput) summary.invalidOutput = (summary.invalidOutput ?? 0) + 1;
  const stopped = r.error ? r.llmbatch?.step : undefined;
  if (!r.steps && stopped === undefined) return;
  const steps = (summary.steps ??= {});
  const count = (name: string) => (steps[name] ??= { succeeded: 0, failed: 0 });
  for (const name of Object.keys(r.steps ?? {})) count(name).succeeded += 1;
  if (stopped !== undefined) count(stopped).failed += 1;
}

/** One recorded result in the metrics, classified as summarizeChunk counts it (a dead letter is a failure there). */
export function countItem(items: ItemMetrics, r: BatchOutputLine, price: ModelPrice | undefined): void {
  if (r.llmbatch?.repairs) items.repaired(r.llmbatch.repairs);
  if (!isSuccess(r)) {
    const code = r.error?.code ?? '';
    if (DEAD_LETTER_CODES.has(code)) items.deadLettered(code);
    else items.failed(code);
  } else if (isCacheHit(r)) items.cacheHit();
  else {
    const t = tokensOf(r);
    items.succeeded(t.tokensIn, t.tokensOut, price);
  }
}
