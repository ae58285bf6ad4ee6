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
 *   7. scenario 1's pair with metrics and logs on, then off     target: ratio to the loop moves ≤ 3%
 *   8. structured outputs: worker CPU per request with options.outputSchema (checked) and json_object (not)
 *   9. single requests four ways (sequential, concurrent loop, POST /requests gathered, native batch) at an RPM
 *      limit; only as `--only 9`                           target ≥ 90% of the limit, < 1% 429s, overhead ≤ wait+50
 *
 * Scenarios 1, 2, 3, 5 and 6 run on each data plane of `--stores` (file store, PostgreSQL), each on stacks
 * of its own; PostgreSQL's throughput ratios must stay within 10% of the file store's.
 * `--quick` runs them all tiny and checks only that each completes with correct results. `--only 8` (or 7) runs
 * that scenario alone and prints its section, with the command and date, instead of writing the docs.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import { machineLoad } from './cpu';
import { dataScenarios, type DataResult } from './data';
import { gatheringScenario, gatheringSection } from './gathering';
import { machineInfo } from './machine';
import { observabilityScenario, observabilitySection } from './observability';
import { onlyOf, parseOptions, storesOf, USAGE, type BenchOptions } from './options';
import { serverInfo } from './postgres';
import { label, rateLimited, type RateLimitedResult } from './rateLimited';
import { keptSections, renderMarkdown, renderTable, type Report, type StoreRun } from './report';
import type { SmallResult, ThroughputResult } from './results';
import { smallBatches } from './small';
import { simConfigure, stopAll, withStack, type BenchStack, type StoreKind } from './stack';
import { engineSettings, throughput, warmUp } from './throughput';
import { validationScenario, validationSection, type ValidationResult } from './validation';

const say = (m: string): void => console.log(`bench: ${m}`);

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

type SimEnvs = Record<'zeroLatency' | 'withLatency', Record<string, string>>;

function simEnvs(o: BenchOptions): SimEnvs {
  const zeroLatency = { SIM_SEED: '1' };
  const withLatency = {
    ...zeroLatency,
    SIM_LATENCY_MEDIAN_MS: String(o.latencyMedianMs),
    SIM_LATENCY_P99_MS: String(o.latencyP99Ms),
  };
  return { zeroLatency, withLatency };
}

/** Scenario 2, then 6 and 5, on one stack (the data scenarios run last, on scenario 2's stack). */
async function scenario2AndData(
  s: BenchStack,
  o: BenchOptions,
  name: string,
  sims: SimEnvs,
): Promise<{ r2: ThroughputResult; data: DataResult }> {
  await warmUp(s, o, o.c2);
  const lines = makeReviewRequests(o.n2, 43);
  const r2 = await throughput(
    s,
    o,
    { name, lines, engine: engineSettings(o, o.c2, sims.withLatency, s.store), target: 0.95 },
    say,
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
}

interface FirstStack {
  r1: ThroughputResult;
  r3: SmallResult;
  /** Scenario 2 (and 6, 5) when it ran on this stack too. */
  shared?: { r2: ThroughputResult; data: DataResult };
}

/** Scenarios 1 and 3 on a stack of their own; then 2, 6 and 5 on it too when `shareStack`. */
async function firstStack(
  o: BenchOptions,
  store: StoreKind,
  tag: (scenario: string) => string,
  sims: SimEnvs,
  shareStack: boolean,
): Promise<FirstStack> {
  const e1 = engineSettings(o, o.c1, sims.zeroLatency, store);
  return withStack(e1, o.keepData, async (s) => {
    await warmUp(s, o, o.c1);
    const lines = makeReviewRequests(o.n1, 42);
    const r1 = await throughput(s, o, { name: tag('scenario 1'), lines, engine: e1, target: 0.8 }, say);
    ok(
      o,
      'scenario 1',
      `${store}: ${o.n1} items through the loop and llmbatch, every custom_id once, ${r1.llm.calls} provider calls`,
    );
    const r3 = await smallBatches(s, o, o.c1, say);
    ok(o, 'scenario 3', `${store}: ${o.smallRuns} batches of ${o.smallSize}, every custom_id once`);
    if (!shareStack) return { r1, r3 };
    await simConfigure(s.simOrigin, { latencyMedianMs: o.latencyMedianMs, latencyP99Ms: o.latencyP99Ms });
    return { r1, r3, shared: await scenario2AndData(s, o, tag('scenario 2'), sims) };
  });
}

/** PostgreSQL beside the file store: its ratio to its own loop within 10% of the file store's. */
function compareToFiles(runs: StoreRun[]): void {
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
}

/** Scenarios 1, 2, 3, 5 and 6 on each data plane of `stores`. */
async function storeRuns(o: BenchOptions, stores: StoreKind[]): Promise<StoreRun[]> {
  const sims = simEnvs(o);
  const tag = (store: StoreKind, scenario: string): string => (stores.length > 1 ? `${scenario} (${store})` : scenario);
  // The worker reads its concurrency at start-up, the simulator takes latency at runtime: one stack
  // serves both throughput scenarios when their concurrency is the same (as in quick mode). The stores
  // take turns, scenario by scenario, so that drift in the machine's load touches both alike.
  const shareStack = o.c2 === o.c1;
  const first = new Map<StoreKind, FirstStack>();
  for (const store of stores) {
    first.set(store, await firstStack(o, store, (scenario) => tag(store, scenario), sims, shareStack));
  }
  const runs: StoreRun[] = [];
  for (const store of stores) {
    const f = first.get(store)!;
    const second =
      f.shared ??
      (await withStack(engineSettings(o, o.c2, sims.withLatency, store), o.keepData, (s) =>
        scenario2AndData(s, o, tag(s.store, 'scenario 2'), sims),
      ));
    runs.push({ store, s1: f.r1, s2: second.r2, s3: f.r3, data: second.data });
  }
  compareToFiles(runs);
  return runs;
}

/** Scenario 4 on the first data plane, with every case's result line in quick mode. */
async function rateScenario(o: BenchOptions, store: StoreKind): Promise<RateLimitedResult> {
  const rl = {
    rpm: o.rlRpm,
    backgroundRpm: o.rlBackgroundRpm,
    seconds: o.rlSeconds,
    pollMs: o.pollMs,
    keepData: o.keepData,
    quick: o.quick,
  };
  // At 50 req/s the worker-wide cap on requests in flight does not bind: the engine's default.
  const concurrency = loadConfig({}).worker.requestConcurrency;
  const s4 = await rateLimited(engineSettings(o, concurrency, simEnvs(o).zeroLatency, store), rl, say);
  for (const x of s4.runs) ok(o, 'scenario 4', `${label(x)}, ${x.items} items, each admitted once`);
  return s4;
}

/** Scenario 8 on the first data plane, unless its size is 0. */
async function scenario8(o: BenchOptions, store: StoreKind): Promise<ValidationResult | undefined> {
  if (o.validationLines === 0) return undefined;
  const s8 = await validationScenario(o, store, say);
  ok(
    o,
    'scenario 8',
    `${store}: ${o.validationLines} lines checked and unchecked, then repaired, every custom_id once`,
  );
  return s8;
}

/** `--only`: the scenarios named, on stacks of their own; their sections printed with the command and date. */
async function alone(o: BenchOptions, only: Set<number>, command: string, startedAt: Date): Promise<void> {
  const store = storesOf(o)[0]!;
  const m = machineInfo();
  const stamp =
    `Measured alone by \`${command}\` on ${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC ` +
    `(${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.code}).`;
  const sections: string[] = [];
  if (only.has(7)) sections.push(`${observabilitySection(await observabilityScenario(o, store, say))}\n${stamp}\n`);
  const s8 = only.has(8) ? await scenario8(o, store) : undefined;
  if (s8) sections.push(validationSection(s8, stamp));
  if (only.has(9)) sections.push(gatheringSection(await gatheringScenario(o, store, say), stamp));
  console.log(`\n${sections.join('\n')}`);
}

/** The table on stdout, and the report written to `out` unless it is empty. */
function publish(report: Report, out: string): void {
  console.log(`\n${renderTable(report)}\n`);
  if (!out) return;
  // bench:large's sections are not this run's to regenerate: kept as they were.
  const kept = existsSync(resolve(out)) ? keptSections(readFileSync(resolve(out), 'utf8')) : '';
  writeFileSync(resolve(out), renderMarkdown(report, kept));
  say(`wrote ${out}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) return void console.log(USAGE);
  const o = parseOptions(argv, process.env);
  const startedAt = new Date();
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  say('provider: the bundled SIMULATED OpenAI-compatible provider (not a real LLM), one process shared by both sides');
  const only = onlyOf(o);
  if (only) return alone(o, only, command, startedAt);
  const out = reportPath(o);
  if (o.quick) say('quick mode: every scenario tiny, checking results only; the figures are not benchmarks');
  const backgroundCores = o.quick ? 0 : await machineLoad(3000);
  if (backgroundCores > 0.25)
    say(`WARNING: other processes keep ${backgroundCores.toFixed(2)} cores busy; the figures will be disturbed`);
  const stores = storesOf(o);
  const postgres = stores.includes('postgres') ? await serverInfo(o.pgUrl) : undefined;
  const runs = await storeRuns(o, stores);
  const s4 = await rateScenario(o, stores[0]!);
  const s7 = await observabilityScenario(o, stores[0]!, say);
  ok(o, 'scenario 7', `${stores[0]}: scenario 1's pair with metrics and logs on and off, /metrics scraped`);
  const s8 = await scenario8(o, stores[0]!);
  publish(
    {
      machine: { ...machineInfo(), postgres, backgroundCores },
      command,
      startedAt,
      minutes: (Date.now() - startedAt.getTime()) / 60_000,
      options: o,
      stores: runs,
      s4,
      s7,
      s8,
    },
    out,
  );
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
