/**
 * The plain client a user would write against a rate limit they know: the official `openai`
 * client (maxRetries 0), one request every 1/rate seconds on a fixed schedule; on a 429 the same
 * item again after the answer's Retry-After, and the schedule moves back by as much, so that the
 * requests after it do not arrive just ahead of the capacity they need. It is told the available
 * rate (limit minus the background's share), which llmbatch has to find or is told only the limit of.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { BatchLine } from '../src/shared/contracts';

export interface PacedRun {
  ms: number;
  /** 429s this client got (each item was sent again until answered). */
  limited: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The wait a 429 asks for: retry-after-ms, else Retry-After in seconds, else one pacing interval. */
function retryAfterMs(err: unknown, fallbackMs: number): number {
  const headers = err instanceof OpenAI.APIError ? err.headers : undefined;
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const s = Number(headers?.get('retry-after'));
  return Number.isFinite(s) && s > 0 ? s * 1000 : fallbackMs;
}

export async function runPaced(baseURL: string, lines: BatchLine[], rps: number): Promise<PacedRun> {
  const client = new OpenAI({ baseURL, apiKey: 'sk-bench', maxRetries: 0 });
  const results = new Map<string, OpenAI.Chat.Completions.ChatCompletion>();
  const intervalMs = 1000 / rps;
  let limited = 0;
  let next = performance.now();
  const send = async (line: BatchLine): Promise<void> => {
    const body = line.body as unknown as ChatCompletionCreateParamsNonStreaming;
    for (;;) {
      try {
        results.set(line.custom_id, await client.chat.completions.create(body));
        return;
      } catch (err) {
        if (!(err instanceof OpenAI.RateLimitError)) throw err;
        limited += 1;
        const wait = retryAfterMs(err, intervalMs);
        next = Math.max(next, performance.now() + wait + intervalMs);
        await sleep(wait);
      }
    }
  };
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (const line of lines) {
    // A fixed schedule (next += interval), so that timer lateness does not accumulate into a lower rate.
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    next += intervalMs;
    inFlight.push(send(line));
  }
  await Promise.all(inFlight);
  const ms = performance.now() - t0;
  const missing = lines.filter((l) => !results.has(l.custom_id)).length;
  if (results.size !== lines.length || missing > 0) {
    throw new Error(
      `paced client: expected ${lines.length} distinct results, got ${results.size} (${missing} missing)`,
    );
  }
  return { ms, limited };
}
