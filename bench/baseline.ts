/**
 * The loop every user would otherwise write: one process, the official client
 * with maxRetries 0 (as llmbatch's worker uses it), a fixed number of lanes
 * pulling the next request, results kept in memory.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { BatchLine } from '../src/shared/contracts';

export interface LoopRun {
  ms: number;
  /** Per-request round trips as the client saw them (mean feeds the lane-utilisation estimate). */
  meanLatencyMs: number;
}

export async function runLoop(baseURL: string, lines: BatchLine[], concurrency: number): Promise<LoopRun> {
  const client = new OpenAI({ baseURL, apiKey: 'sk-bench', maxRetries: 0 });
  const results = new Map<string, OpenAI.Chat.Completions.ChatCompletion>();
  let next = 0;
  let latencySum = 0;
  const lane = async (): Promise<void> => {
    while (next < lines.length) {
      const line = lines[next++] as BatchLine;
      const started = performance.now();
      const body = line.body as unknown as ChatCompletionCreateParamsNonStreaming;
      results.set(line.custom_id, await client.chat.completions.create(body));
      latencySum += performance.now() - started;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, lines.length) }, lane));
  const ms = performance.now() - t0;
  // Same bar as llmbatch's results: every custom_id answered exactly once.
  const missing = lines.filter((l) => !results.has(l.custom_id)).length;
  if (results.size !== lines.length || missing > 0) {
    throw new Error(`baseline: expected ${lines.length} distinct results, got ${results.size} (${missing} missing)`);
  }
  return { ms, meanLatencyMs: latencySum / lines.length };
}
