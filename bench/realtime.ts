/**
 * `npm run bench`: llmbatch's realtime mode against the loop every user would
 * otherwise write, in one run, against the same simulator process with the same
 * settings. Prints a table and writes docs/benchmarks.md. Not part of `npm test`.
 *
 *   1. throughput, zero-latency simulator (CPU-bound)      target llmbatch ≥ 0.80× the loop
 *   2. throughput, 1 s median / 1.5 s p99 latency          target ≥ 0.95×
 *   3. small batches: POST to the last result read          target median ≤ 300 ms
 *   4. rate-limited provider: share of the available rate   target ≥ 95%, < 1% 429s
 *
 * `--quick` runs all four tiny and checks only that each completes with correct results.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import type { BatchLine } from '../src/shared/contracts';
import { runLoop } from './baseline';
import { cpuMeter, machineLoad, waitQuiet } from './cpu';
import { engineTimes, fetchTimeline } from './history';
import { sampleAnswers } from './progress';
import { parseOptions, USAGE, type BenchOptions } from './options';
import { label, rateLimited } from './rateLimited';
import { machineInfo, renderMarkdown, renderTable, type ThroughputResult } from './report';
import { smallBatches } from './small';
import { runBatch, simCalls, simConfigure, simReset, stopAll, withStack, type BenchStack, type EngineSettings } from './stack';

const say = (m: string): void => console.log(`bench: ${m}`);

/**
 * The engine at its defaults (read from src/config.ts, so they follow the engine), except that the
 * worker-wide cap on requests in flight is the loop's lane count. Chunks in flight × item concurrency
 * must reach that cap, or the engine could not use the concurrency the loop gets.
 */
function engine(o: BenchOptions, concurrency: number, simEnv: Record<string, string>): EngineSettings {
  const d = loadConfig({}).batch;
  const e = {
    chunkSize: o.chunkSize || d.chunkSize,
    maxChunksInFlight: o.chunksInFlight || d.maxChunksInFlight,
    itemConcurrency: o.itemConcurrency || d.itemConcurrency,
    workerConcurrency: concurrency,
    simEnv,
  };
  if (e.maxChunksInFlight * Math.min(e.itemConcurrency, e.chunkSize) < concurrency) {
    throw new Error(`chunks in flight ${e.maxChunksInFlight} × item concurrency ${e.itemConcurrency} (chunks of ${e.chunkSize}) cannot reach concurrency ${concurrency}`);
  }
  return e;
}

function groups(s: BenchStack): Record<string, number | undefined> {
  return Object.fromEntries(s.stack.children.map((c) => [c.spec.name, c.process.pid]));
}

/** JIT, connection pools and the worker's first workflow tasks are warmed on both sides before anything is timed. */
async function warmUp(s: BenchStack, o: BenchOptions, concurrency: number): Promise<void> {
  if (o.warmup === 0) return;
  const lines = makeReviewRequests(o.warmup, 7);
  await runLoop(s.stack.urls.provider, lines, concurrency);
  await runBatch(s.api, lines, o.pollMs);
}

/** One loop run and one llmbatch run, back to back, each with its CPU, answer curve and provider-call count. */
async function pair(s: BenchStack, o: BenchOptions, lines: BatchLine[], e: EngineSettings) {
  await waitQuiet(o.quietWaitS * 1000, say);
  await simReset(s.simOrigin);
  let meter = cpuMeter(groups(s));
  let answers = sampleAnswers(s.simOrigin, lines.length);
  const loopRun = await runLoop(s.stack.urls.provider, lines, e.workerConcurrency);
  const loopCpu = meter();
  const loopCurve = await answers(loopRun.ms);
  const loop = { ...loopRun, rps: lines.length / (loopRun.ms / 1000), cpu: loopCpu, curve: loopCurve, calls: await simCalls(s.simOrigin) };
  await waitQuiet(o.quietWaitS * 1000, say);
  await simReset(s.simOrigin);
  meter = cpuMeter(groups(s));
  answers = sampleAnswers(s.simOrigin, lines.length);
  const run = await runBatch(s.api, lines, o.pollMs);
  const cpu = meter();
  const curve = await answers(run.doneMs);
  const calls = await simCalls(s.simOrigin);
  const timeline = await fetchTimeline(s.stack.urls.temporal, run.id);
  const times = engineTimes(timeline, run, e.maxChunksInFlight);
  const llm = { ...run, rps: lines.length / (run.doneMs / 1000), cpu, curve, calls, chunks: timeline.chunks.length, times };
  // The simulator has no faults here: any call beyond N would be a retry or a duplicate the rate hides.
  for (const [side, n] of [['loop', loop.calls], ['llmbatch', calls]] as const) {
    if (n !== lines.length) throw new Error(`${side}: the simulator answered ${n} calls for ${lines.length} requests`);
  }
  return { loop, llm };
}

/**
 * `repeats` alternating pairs (the machine's background load drifts, so alternating spreads it over both sides).
 * Figures are medians; the CPU and phase analyses come from the run whose rate is the median.
 */
async function throughput(s: BenchStack, o: BenchOptions, name: string, lines: BatchLine[], e: EngineSettings, target: number): Promise<ThroughputResult> {
  const concurrency = e.workerConcurrency;
  const pairs = [];
  for (let i = 1; i <= o.repeats; i++) {
    say(`${name} (${i}/${o.repeats}): loop with ${concurrency} lanes, then llmbatch with ${concurrency} worker slots (${e.maxChunksInFlight} chunks of ${e.chunkSize} in flight, ${e.itemConcurrency} items each at most); ${lines.length} requests each`);
    const p = await pair(s, o, lines, e);
    say(`${name} (${i}/${o.repeats}): loop ${p.loop.rps.toFixed(0)} req/s, llmbatch ${p.llm.rps.toFixed(0)} req/s`);
    pairs.push(p);
  }
  const mid = <T extends { rps: number }>(runs: T[]): T => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor((runs.length - 1) / 2)] as T;
  const loop = mid(pairs.map((p) => p.loop));
  const llm = mid(pairs.map((p) => p.llm));
  const ratio = llm.rps / loop.rps;
  say(`${name}: median loop ${loop.rps.toFixed(0)} req/s, llmbatch ${llm.rps.toFixed(0)} req/s, ratio ${ratio.toFixed(2)}`);
  return {
    name,
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

/** In quick mode, the line `npm test` looks for: the scenario ran and its results were checked. */
function ok(o: BenchOptions, scenario: string, what: string): void {
  if (o.quick) say(`ok ${scenario}: ${what}`);
}

/** Where the report goes: quick mode's figures mean nothing, so never the docs; a temp file unless told. */
function reportPath(o: BenchOptions): string {
  if (!o.quick) return o.out;
  const out = o.out || join(mkdtempSync(join(tmpdir(), 'llmbatch-bench-quick-')), 'benchmarks.md');
  if (resolve(out) === resolve('docs/benchmarks.md')) throw new Error('--quick does not write docs/benchmarks.md: its figures are not benchmarks');
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) return void console.log(USAGE);
  const o = parseOptions(argv, process.env);
  const out = reportPath(o);
  const startedAt = new Date();
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  say('provider: the bundled SIMULATED OpenAI-compatible provider (not a real LLM), one process shared by both sides');
  if (o.quick) say('quick mode: every scenario tiny, checking results only; the figures are not benchmarks');
  const backgroundCores = o.quick ? 0 : await machineLoad(3000);
  if (backgroundCores > 0.25) say(`WARNING: other processes keep ${backgroundCores.toFixed(2)} cores busy; the figures will be disturbed`);
  const zeroLatency = { SIM_SEED: '1' };
  const withLatency = { ...zeroLatency, SIM_LATENCY_MEDIAN_MS: String(o.latencyMedianMs), SIM_LATENCY_P99_MS: String(o.latencyP99Ms) };

  const e1 = engine(o, o.c1, zeroLatency);
  const e2 = engine(o, o.c2, withLatency);
  const scenario2 = async (s: BenchStack): Promise<ThroughputResult> => {
    await warmUp(s, o, o.c2);
    const r2 = await throughput(s, o, 'scenario 2', makeReviewRequests(o.n2, 43), e2, 0.95);
    ok(o, 'scenario 2', `${o.n2} items at ${o.latencyMedianMs} ms latency, every custom_id once, ${r2.llm.calls} provider calls`);
    return r2;
  };
  // The worker reads its concurrency at start-up, the simulator takes latency at runtime: one stack
  // serves both throughput scenarios when their concurrency is the same (as in quick mode).
  const shareStack = o.c2 === o.c1;
  const [s1, s3, shared2] = await withStack(e1, o.keepData, async (s) => {
    await warmUp(s, o, o.c1);
    const r1 = await throughput(s, o, 'scenario 1', makeReviewRequests(o.n1, 42), e1, 0.8);
    ok(o, 'scenario 1', `${o.n1} items through the loop and llmbatch, every custom_id once, ${r1.llm.calls} provider calls`);
    const r3 = await smallBatches(s, o, o.c1, say);
    ok(o, 'scenario 3', `${o.smallRuns} batches of ${o.smallSize}, every custom_id once`);
    if (!shareStack) return [r1, r3, undefined] as const;
    await simConfigure(s.simOrigin, { latencyMedianMs: o.latencyMedianMs, latencyP99Ms: o.latencyP99Ms });
    return [r1, r3, await scenario2(s)] as const;
  });
  const s2 = shared2 ?? (await withStack(e2, o.keepData, scenario2));
  const rl = { rpm: o.rlRpm, backgroundRpm: o.rlBackgroundRpm, seconds: o.rlSeconds, pollMs: o.pollMs, keepData: o.keepData, quick: o.quick };
  // At 50 req/s the worker-wide cap on requests in flight does not bind: the engine's default.
  const s4 = await rateLimited(engine(o, loadConfig({}).worker.requestConcurrency, zeroLatency), rl, say);
  for (const x of s4.runs) ok(o, 'scenario 4', `${label(x)}, ${x.items} items, each admitted once`);

  const report = { machine: { ...machineInfo(), backgroundCores }, command, startedAt, minutes: (Date.now() - startedAt.getTime()) / 60_000, options: o, s1, s2, s3, s4 };
  console.log(`\n${renderTable(report)}\n`);
  if (out) {
    writeFileSync(resolve(out), renderMarkdown(report));
    say(`wrote ${out}`);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping every process the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(`bench: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
