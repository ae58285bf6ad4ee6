/**
 * Throughput scenarios 1 and 2: the loop and llmbatch on the same stack and simulator, in alternating
 * pairs, each run with its CPU, its answer curve and (llmbatch) its engine milestones.
 */
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import type { BatchLine } from '../src/shared/contracts';
import { runLoop } from './baseline';
import { cpuMeter, waitQuiet } from './cpu';
import { engineTimes, fetchTimeline } from './history';
import type { BenchOptions } from './options';
import { sampleAnswers } from './progress';
import type { ThroughputResult } from './results';
import { childPids, runBatch, simCalls, simReset, type BenchStack, type EngineSettings, type StoreKind } from './stack';

type Say = (m: string) => void;

/** One throughput scenario: its name in the output, its requests, the engine it runs on, its target ratio. */
export interface ThroughputScenario {
  name: string;
  lines: BatchLine[];
  engine: EngineSettings;
  target: number;
}

/**
 * The engine at its defaults (read from src/config, so they follow the engine), except that the
 * worker-wide cap on requests in flight is the loop's lane count. Chunks in flight × item concurrency
 * must reach that cap, or the engine could not use the concurrency the loop gets.
 */
export function engineSettings(
  o: BenchOptions,
  concurrency: number,
  simEnv: Record<string, string>,
  store: StoreKind,
): EngineSettings {
  const d = loadConfig({}).batch;
  const e = {
    chunkSize: o.chunkSize || d.chunkSize,
    maxChunksInFlight: o.chunksInFlight || d.maxChunksInFlight,
    itemConcurrency: o.itemConcurrency || d.itemConcurrency,
    workerConcurrency: concurrency,
    simEnv,
    store,
    pgUrl: o.pgUrl,
  };
  if (e.maxChunksInFlight * Math.min(e.itemConcurrency, e.chunkSize) < concurrency) {
    throw new Error(
      `chunks in flight ${e.maxChunksInFlight} × item concurrency ${e.itemConcurrency} (chunks of ` +
        `${e.chunkSize}) cannot reach concurrency ${concurrency}`,
    );
  }
  return e;
}

/** JIT, connection pools and the worker's first workflow tasks are warmed on both sides before anything is timed. */
export async function warmUp(s: BenchStack, o: BenchOptions, concurrency: number): Promise<void> {
  if (o.warmup === 0) return;
  const lines = makeReviewRequests(o.warmup, 7);
  await runLoop(s.stack.urls.provider, lines, concurrency);
  await runBatch(s.api, lines, o.pollMs);
}

/**
 * One llmbatch run on a quiet machine, timed from the POST until a poll sees it done, with its CPU (every child of
 * the stack), answer curve, provider-call count and engine milestones; `options` go with the POST.
 */
export async function timedBatch(
  s: BenchStack,
  o: BenchOptions,
  lines: BatchLine[],
  e: EngineSettings,
  say: Say,
  options?: Record<string, unknown>,
) {
  await waitQuiet(o.quietWaitS * 1000, say);
  await simReset(s.simOrigin);
  const meter = cpuMeter(childPids(s), s.database?.name);
  const answers = sampleAnswers(s.simOrigin, lines.length);
  const run = await runBatch(s.api, lines, o.pollMs, options);
  const cpu = meter();
  const curve = await answers(run.doneMs);
  const calls = await simCalls(s.simOrigin);
  const timeline = await fetchTimeline(s.stack.urls.temporal, run.id);
  const times = engineTimes(timeline, run, e.maxChunksInFlight);
  return { ...run, rps: lines.length / (run.doneMs / 1000), cpu, curve, calls, chunks: timeline.chunks.length, times };
}

/** One loop run and one llmbatch run, back to back, each with its CPU, answer curve and provider-call count. */
async function pair(s: BenchStack, o: BenchOptions, lines: BatchLine[], e: EngineSettings, say: Say) {
  await waitQuiet(o.quietWaitS * 1000, say);
  await simReset(s.simOrigin);
  const meter = cpuMeter(childPids(s), s.database?.name);
  const answers = sampleAnswers(s.simOrigin, lines.length);
  const loopRun = await runLoop(s.stack.urls.provider, lines, e.workerConcurrency);
  const loopCpu = meter();
  const loopCurve = await answers(loopRun.ms);
  const loop = {
    ...loopRun,
    rps: lines.length / (loopRun.ms / 1000),
    cpu: loopCpu,
    curve: loopCurve,
    calls: await simCalls(s.simOrigin),
  };
  const llm = await timedBatch(s, o, lines, e, say);
  // The simulator has no faults here: any call beyond N would be a retry or a duplicate the rate hides.
  for (const [side, n] of [
    ['loop', loop.calls],
    ['llmbatch', llm.calls],
  ] as const) {
    if (n !== lines.length) throw new Error(`${side}: the simulator answered ${n} calls for ${lines.length} requests`);
  }
  return { loop, llm };
}

/**
 * `repeats` alternating pairs (the machine's background load drifts, so alternating spreads it over both sides).
 * Figures are medians; the CPU and phase analyses come from the run whose rate is the median.
 */
export async function throughput(
  s: BenchStack,
  o: BenchOptions,
  { name, lines, engine: e, target }: ThroughputScenario,
  say: Say,
): Promise<ThroughputResult> {
  const concurrency = e.workerConcurrency;
  const pairs = [];
  for (let i = 1; i <= o.repeats; i++) {
    say(
      `${name} (${i}/${o.repeats}): loop with ${concurrency} lanes, then llmbatch with ${concurrency} worker ` +
        `slots (${e.maxChunksInFlight} chunks of ${e.chunkSize} in flight, ${e.itemConcurrency} items each at ` +
        `most); ${lines.length} requests each`,
    );
    const p = await pair(s, o, lines, e, say);
    say(`${name} (${i}/${o.repeats}): loop ${p.loop.rps.toFixed(0)} req/s, llmbatch ${p.llm.rps.toFixed(0)} req/s`);
    pairs.push(p);
  }
  const mid = <T extends { rps: number }>(runs: T[]): T =>
    [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)] as T;
  const loop = mid(pairs.map((p) => p.loop));
  const llm = mid(pairs.map((p) => p.llm));
  const ratio = llm.rps / loop.rps;
  say(
    `${name}: median loop ${loop.rps.toFixed(0)} req/s, llmbatch ${llm.rps.toFixed(0)} req/s, ratio ` +
      `${ratio.toFixed(2)}`,
  );
  return {
    name,
    store: s.store,
    n: lines.length,
    concurrency,
    engine: e,
    loop,
    llm,
    runs: { loop: pairs.map((p) => p.loop.rps), llm: pairs.map((p) => p.llm.rps) },
    ratio,
    target,
    pass: ratio >= target,
  };
}
