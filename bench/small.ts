/**
 * Scenario 3: small batches, timed from the POST to the last result read, with
 * each run split into phases from its workflow history (same host clock).
 */
import { makeReviewRequests } from '../examples/reviews';
import { runLoop } from './baseline';
import { fetchTimeline, type Timeline } from './history';
import type { BenchOptions } from './options';
import type { SmallResult } from './results';
import { runBatch, type BenchStack } from './stack';

const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const median = (xs: number[]): number => percentile(xs, 50);

/** Not a phase of its own: part of the one above it. */
const OF_WHICH = '… of which the round trip of that last poll (the stored outcome)';

/**
 * Consecutive phases of one small batch in ms (they add up to POST
 * → results read); history times are the server's clock, same host.
 */
function phases(
  tl: Timeline,
  run: { epochStart: number; doneMs: number; resultsMs: number; lastPollMs: number },
): Record<string, number> {
  const chunk = tl.chunks[0];
  if (!chunk) throw new Error('small batch: history lacks the chunk activity');
  return {
    'POST sent → workflow started (validate, store, start)': tl.workflowStarted - run.epochStart,
    'workflow started → chunk scheduled (first workflow task)': chunk.scheduled - tl.workflowStarted,
    'chunk scheduled → started (activity dispatch)': chunk.started - chunk.scheduled,
    'chunk activity running (the provider calls)': chunk.closed - chunk.started,
    // finishBatch stores the outcome, which the API answers from; the workflow closes just after.
    'chunk closed → a poll saw the batch ended (finishBatch, polling)': run.epochStart + run.doneMs - chunk.closed,
    [OF_WHICH]: run.lastPollMs,
    'results read': run.resultsMs - run.doneMs,
  };
}

export async function smallBatches(
  s: BenchStack,
  o: BenchOptions,
  concurrency: number,
  say: (m: string) => void,
): Promise<SmallResult> {
  say(`small batches: ${o.smallRuns} runs of ${o.smallSize} items (poll every ${o.smallPollMs} ms)`);
  const lines = makeReviewRequests(o.smallSize, 11);
  const loopMs: number[] = [];
  const llmMs: number[] = [];
  const parts: Record<string, number>[] = [];
  for (let i = 0; i < o.smallRuns; i++) {
    loopMs.push((await runLoop(s.stack.urls.provider, lines, Math.min(concurrency, lines.length))).ms);
    const run = await runBatch(s.api, lines, o.smallPollMs);
    llmMs.push(run.resultsMs);
    parts.push(phases(await fetchTimeline(s.stack.urls.temporal, run.id), run));
  }
  const breakdown = Object.fromEntries(
    Object.keys(parts[0] ?? {}).map((k) => [k, median(parts.map((p) => p[k] ?? NaN))]),
  );
  const target = 300;
  const llm = { medianMs: median(llmMs), p90Ms: percentile(llmMs, 90) };
  say(
    `small batches: loop median ${median(loopMs).toFixed(1)} ms, llmbatch median ${llm.medianMs.toFixed(0)} ms, ` +
      `p90 ${llm.p90Ms.toFixed(0)} ms`,
  );
  return {
    store: s.store,
    runs: o.smallRuns,
    size: o.smallSize,
    pollMs: o.smallPollMs,
    loop: { medianMs: median(loopMs), p90Ms: percentile(loopMs, 90) },
    llm,
    breakdown,
    target,
    pass: llm.medianMs <= target,
  };
}
