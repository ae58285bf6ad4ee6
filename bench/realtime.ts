/**
 * `npm run bench`: llmbatch's realtime mode against the loop every user would
 * otherwise write, in one run, against the same simulator process with the same
 * settings. Prints a table and writes docs/benchmarks.md. Not part of `npm test`.
 *
 *   1. throughput, zero-latency simulator (CPU-bound)      target llmbatch ≥ 0.80× the loop
 *   2. throughput, 1 s median / 1.5 s p99 latency          target ≥ 0.95×
 *   3. small batches: POST to the last result read          target median ≤ 300 ms
 *   4. rate-limited provider: share of the available rate   target ≥ 95%, < 1% 429s
 *   5. ingest (NDJSON POST) and download of 1,000,000 lines  target ≥ 50,000 and ≥ 100,000 lines/s, API < 256 MB
 *   6. POST latency with 10,000 earlier batches               target within 20% of few earlier (PostgreSQL)
 *
 * Scenarios 1, 2, 3, 5 and 6 run on each data plane of `--stores` (file store, PostgreSQL), each on stacks
 * of its own; PostgreSQL's throughput ratios must stay within 10% of the file store's.
 * `--quick` runs them all tiny and checks only that each completes with correct results.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import type { BatchLine } from '../src/shared/contracts';
import { runLoop } from './baseline';
import { cpuMeter, machineLoad, waitQuiet } from './cpu';
import { dataScenarios, type DataResult } from './data';
import { engineTimes, fetchTimeline } from './history';
import { machineInfo } from './machine';
import { sampleAnswers } from './progress';
import { parseOptions, storesOf, USAGE, type BenchOptions } from './options';
import { serverInfo } from './postgres';
import { label, rateLimited } from './rateLimited';
import { keptSections, renderMarkdown, renderTable, type StoreRun } from './report';
import type { SmallResult, ThroughputResult } from './results';
import { smallBatches } from './small';
import {
  childPids,
  runBatch,
  simCalls,
  simConfigure,
  simReset,
  stopAll,
  withStack,
  type BenchStack,
  type EngineSettings,
  type StoreKind,
} from './stack';

const say = (m: string): void => console.log(`bench: ${m}`);

/**
 * The engine at its defaults (read from src/config, so they follow the engine), except that the
 * worker-wide cap on requests in flight is the loop's lane count. Chunks in flight × item concurrency
 * must reach that cap, or the engine could not use the concurrency the loop gets.
 */
function engine(
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
  let meter = cpuMeter(childPids(s), s.database?.name);
  let answers = sampleAnswers(s.simOrigin, lines.length);
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
  await waitQuiet(o.quietWaitS * 1000, say);
  await simReset(s.simOrigin);
  meter = cpuMeter(childPids(s), s.database?.name);
  answers = sampleAnswers(s.simOrigin, lines.length);
  const run = await runBatch(s.api, lines, o.pollMs);
  const cpu = meter();
  const curve = await answers(run.doneMs);
  const calls = await simCalls(s.simOrigin);
  const timeline = await fetchTimeline(s.stack.urls.temporal, run.id);
  const times = engineTimes(timeline, run, e.maxChunksInFlight);
  const llm = {
    ...run,
    rps: lines.length / (run.doneMs / 1000),
    cpu,
    curve,
    calls,
    chunks: timeline.chunks.length,
    times,
  };
  // The simulator has no faults here: any call beyond N would be a retry or a duplicate the rate hides.
  for (const [side, n] of [
    ['loop', loop.calls],
    ['llmbatch', calls],
  ] as const) {
    if (n !== lines.length) throw new Error(`${side}: the simulator answered ${n} calls for ${lines.length} requests`);
  }
  return { loop, llm };
}

/**
 * `repeats` alternating pairs (the machine's background load drifts, so alternating spreads it over both sides).
 * Figures are medians; the CPU and phase analyses come from the run whose rate is the median.
 */
async function throughput(
  s: BenchStack,
  o: BenchOptions,
  name: string,
  lines: BatchLine[],
  e: EngineSettings,
  target: number,
): Promise<ThroughputResult> {
  const concurrency = e.workerConcurrency;
  const pairs = [];
  for (let i = 1; i <= o.repeats; i++) {
    say(
      `${name} (${i}/${o.repeats}): loop with ${concurrency} lanes, then llmbatch with ${concurrency} worker ` +
        `slots (${e.maxChunksInFlight} chunks of ${e.chunkSize} in flight, ${e.itemConcurrency} items each at ` +
        `most); ${lines.length} requests each`,
    );
    const p = await pair(s, o, lines, e);
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

/** In quick mode, the line `npm test` looks for: the scenario ran and its results were checked. */
function ok(o: BenchOptions, scenario: string, what: string): void {
  if (o.quick) say(`ok ${scenario}: ${what}`);
}

/** Where the report goes: quick mode's figures mean nothing, so never the docs; a temp file unless told. */
function reportPath(o: BenchOptions): string {
  if (!o.quick) return o.out;
  const out = o.out || join(mkdtempSync(join(tmpdir(), 'llmbatch-bench-quick-')), 'benchmarks.md');
  if (resolve(out) === resolve('docs/benchmarks.md'))
    throw new Error('--quick does not write docs/benchmarks.md: its figures are not benchmarks');
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
  if (backgroundCores > 0.25)
    say(`WARNING: other processes keep ${backgroundCores.toFixed(2)} cores busy; the figures will be disturbed`);
  const zeroLatency = { SIM_SEED: '1' };
  const withLatency = {
    ...zeroLatency,
    SIM_LATENCY_MEDIAN_MS: String(o.latencyMedianMs),
    SIM_LATENCY_P99_MS: String(o.latencyP99Ms),
  };

  const stores = storesOf(o);
  const postgres = stores.includes('postgres') ? await serverInfo(o.pgUrl) : undefined;
  const tag = (store: StoreKind, scenario: string): string => (stores.length > 1 ? `${scenario} (${store})` : scenario);
  const scenario2 = async (s: BenchStack): Promise<{ r2: ThroughputResult; data: DataResult }> => {
    await warmUp(s, o, o.c2);
    const r2 = await throughput(
      s,
      o,
      tag(s.store, 'scenario 2'),
      makeReviewRequests(o.n2, 43),
      engine(o, o.c2, withLatency, s.store),
      0.95,
    );
    ok(
      o,
      'scenario 2',
      `${s.store}: ${o.n2} items at ${o.latencyMedianMs} ms latency, every custom_id once, ${r2.llm.calls} ` +
        'provider calls',
    );
    const data = await dataScenarios(s, o, say);
    if (data.post)
      ok(
        o,
        'scenario 6',
        `${s.store}: ${o.postRuns} POSTs before and after ${o.earlierBatches} earlier batches, every custom_id once`,
      );
    if (data.ingest)
      ok(
        o,
        'scenario 5',
        `${s.store}: ${o.ingestLines} lines ingested by NDJSON POST and downloaded, every custom_id once`,
      );
    return { r2, data };
  };
  // The worker reads its concurrency at start-up, the simulator takes latency at runtime: one stack
  // serves both throughput scenarios when their concurrency is the same (as in quick mode). The stores
  // take turns, scenario by scenario, so that drift in the machine's load touches both alike.
  const shareStack = o.c2 === o.c1;
  const first = new Map<
    StoreKind,
    { r1: ThroughputResult; r3: SmallResult; shared?: { r2: ThroughputResult; data: DataResult } }
  >();
  for (const store of stores) {
    const e1 = engine(o, o.c1, zeroLatency, store);
    first.set(
      store,
      await withStack(e1, o.keepData, async (s) => {
        await warmUp(s, o, o.c1);
        const r1 = await throughput(s, o, tag(store, 'scenario 1'), makeReviewRequests(o.n1, 42), e1, 0.8);
        ok(
          o,
          'scenario 1',
          `${store}: ${o.n1} items through the loop and llmbatch, every custom_id once, ${r1.llm.calls} provider calls`,
        );
        const r3 = await smallBatches(s, o, o.c1, say);
        ok(o, 'scenario 3', `${store}: ${o.smallRuns} batches of ${o.smallSize}, every custom_id once`);
        if (!shareStack) return { r1, r3 };
        await simConfigure(s.simOrigin, { latencyMedianMs: o.latencyMedianMs, latencyP99Ms: o.latencyP99Ms });
        return { r1, r3, shared: await scenario2(s) };
      }),
    );
  }
  const runs: StoreRun[] = [];
  for (const store of stores) {
    const f = first.get(store)!;
    const second = f.shared ?? (await withStack(engine(o, o.c2, withLatency, store), o.keepData, scenario2));
    runs.push({ store, s1: f.r1, s2: second.r2, s3: f.r3, data: second.data });
  }
  // PostgreSQL beside the file store: its ratio to its own loop within 10% of the file store's.
  const files = runs.find((x) => x.store === 'files');
  for (const x of runs) {
    if (x.store === 'files' || !files) continue;
    for (const [mine, theirs] of [
      [x.s1, files.s1],
      [x.s2, files.s2],
    ] as const) {
      const min = 0.9 * theirs.ratio;
      mine.relative = { fileRatio: theirs.ratio, min, pass: mine.ratio >= min };
    }
  }
  const rl = {
    rpm: o.rlRpm,
    backgroundRpm: o.rlBackgroundRpm,
    seconds: o.rlSeconds,
    pollMs: o.pollMs,
    keepData: o.keepData,
    quick: o.quick,
  };
  // At 50 req/s the worker-wide cap on requests in flight does not bind: the engine's default.
  const s4 = await rateLimited(engine(o, loadConfig({}).worker.requestConcurrency, zeroLatency, stores[0]!), rl, say);
  for (const x of s4.runs) ok(o, 'scenario 4', `${label(x)}, ${x.items} items, each admitted once`);

  const report = {
    machine: { ...machineInfo(), postgres, backgroundCores },
    command,
    startedAt,
    minutes: (Date.now() - startedAt.getTime()) / 60_000,
    options: o,
    stores: runs,
    s4,
  };
  console.log(`\n${renderTable(report)}\n`);
  if (out) {
    // bench:large's sections are not this run's to regenerate: kept as they were.
    const kept = existsSync(resolve(out)) ? keptSections(readFileSync(resolve(out), 'utf8')) : '';
    writeFileSync(resolve(out), renderMarkdown(report, kept));
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
