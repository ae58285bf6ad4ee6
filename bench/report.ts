/** The results: a table for stdout and docs/benchmarks.md, every figure taken from the run. */
import { cpuSection, phaseSection, smallSection, verdict } from './explain';
import { int, md, ms, pct } from './format';
import { machineTable, type Machine } from './machine';
import type { BenchOptions } from './options';
import type { RateLimitedResult } from './rateLimited';
import { rateSection, rateSummaryRow, rateTable } from './rateReport';
import { dataRows, ingestSection, postSection } from './dataReport';
import type { DataResult } from './data';
import { observabilityRow, observabilitySection, type ObservabilityResult } from './observability';
import type { SmallResult, ThroughputResult } from './results';
import { validationRow, validationSection, type ValidationResult } from './validation';
import { STORE_LABEL, type StoreKind } from './stack';

/** Scenarios 1, 2, 3 (and 5, 6 in `data`) on one data plane. */
export interface StoreRun {
  store: StoreKind;
  s1: ThroughputResult;
  s2: ThroughputResult;
  s3: SmallResult;
  data: DataResult;
}

export interface Report {
  machine: Machine;
  command: string;
  startedAt: Date;
  minutes: number;
  options: BenchOptions;
  stores: StoreRun[];
  s4: RateLimitedResult;
  s7: ObservabilityResult;
  /** Scenario 8, unless `validationLines` is 0. */
  s8?: ValidationResult;
}

const pf = (pass: boolean): string => (pass ? 'PASS' : 'MISS');

function simLabel(r: ThroughputResult, o: BenchOptions): string {
  return r.engine.simEnv.SIM_LATENCY_MEDIAN_MS
    ? `${o.latencyMedianMs} ms median / ${o.latencyP99Ms} ms p99 latency`
    : 'zero latency';
}

const on = (store: StoreKind): string => `, ${STORE_LABEL[store]}`;

function tpRow(s: ThroughputResult, label: string, o: BenchOptions): string[] {
  const rel = s.relative;
  const relTarget = rel
    ? `, and ≥ ${rel.min.toFixed(2)}× (within 10% of the file store's ${rel.fileRatio.toFixed(2)}×)`
    : '';
  return [
    `${label}: ${simLabel(s, o)}, N=${int(s.n)}, concurrency ${s.concurrency}${on(s.store)}`,
    `${int(s.loop.rps)} req/s`,
    `${int(s.llm.rps)} req/s`,
    `${s.ratio.toFixed(2)}×`,
    `≥ ${s.target.toFixed(2)}×${relTarget}`,
    pf(s.pass && (rel?.pass ?? true)),
  ];
}

function rows(r: Report): string[][] {
  const o = r.options;
  const small = (s3: SmallResult): string[] => [
    `3 small batch: ${s3.size} items, ${s3.runs} runs, zero latency${on(s3.store)}`,
    `median ${ms(s3.loop.medianMs)}, p90 ${ms(s3.loop.p90Ms)}`,
    `median ${ms(s3.llm.medianMs)}, p90 ${ms(s3.llm.p90Ms)}`,
    '–',
    `median ≤ ${s3.target} ms`,
    pf(s3.pass),
  ];
  return [
    ...r.stores.map((x) => tpRow(x.s1, '1 throughput', o)),
    ...r.stores.map((x) => tpRow(x.s2, '2 throughput', o)),
    ...r.stores.map((x) => small(x.s3)),
    [
      ...rateSummaryRow(r.s4)
        .slice(0, 1)
        .map((c) => `${c}${on(r.s4.store)}`),
      ...rateSummaryRow(r.s4).slice(1),
    ],
    ...dataRows(r.stores.map((x) => x.data)),
    observabilityRow(r.s7),
    ...(r.s8 ? [validationRow(r.s8)] : []),
  ];
}

const HEAD = ['scenario', 'loop', 'llmbatch', 'ratio', 'target', 'result'];

export function renderTable(r: Report): string {
  const all = [HEAD, ...rows(r)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows(r).map(line), '', rateTable(r.s4)].join(
    '\n',
  );
}

function scenario(s: ThroughputResult, o: BenchOptions, title: string): string {
  const e = s.engine;
  const rel = s.relative
    ? ` Beside the file store's ${s.relative.fileRatio.toFixed(2)}× in the same run: ` +
      `${pct(s.ratio / s.relative.fileRatio)} of it, target within 10% (≥ ${s.relative.min.toFixed(2)}×): ` +
      `**${pf(s.relative.pass)}**.`
    : '';
  return [
    `## ${title}, ${STORE_LABEL[s.store]}`,
    '',
    `- Simulator: ${simLabel(s, o)}, seed 1. Requests: ${int(s.n)} review-sentiment chat completions ` +
      '(`examples/reviews.ts`).',
    `- Loop: ${s.concurrency} lanes. llmbatch: \`LLMBATCH_WORKER_CONCURRENCY=${e.workerConcurrency}\` (requests ` +
      `in flight across the worker), with \`LLMBATCH_MAX_CHUNKS_IN_FLIGHT=${e.maxChunksInFlight}\` × ` +
      `\`LLMBATCH_ITEM_CONCURRENCY=${e.itemConcurrency}\` (${e.maxChunksInFlight * e.itemConcurrency} ≥ ` +
      `${s.concurrency}) and \`LLMBATCH_CHUNK_SIZE=${e.chunkSize}\` (${s.llm.chunks} chunk activities); one worker ` +
      `process; polling every ${o.pollMs} ms.`,
    `- ${s.runs.loop.length} alternating runs per side: loop ${s.runs.loop.map(int).join(' / ')} req/s, llmbatch ` +
      `${s.runs.llm.map(int).join(' / ')} req/s. The figures below are the median runs.`,
    `- Loop: ${int(s.loop.ms)} ms, **${int(s.loop.rps)} req/s** (mean round trip ${ms(s.loop.meanLatencyMs)}); ` +
      `${int(s.loop.calls)} provider calls.`,
    `- llmbatch: POST answered in ${ms(s.llm.postMs)}, completion seen after ${int(s.llm.doneMs)} ms, ` +
      `**${int(s.llm.rps)} req/s**; results read and verified at ${int(s.llm.resultsMs)} ms ` +
      `(${int(s.n / (s.llm.resultsMs / 1000))} req/s counting the download); ${int(s.llm.calls)} provider calls.`,
    `- Ratio **${s.ratio.toFixed(2)}×**, target ≥ ${s.target.toFixed(2)}×: **${pf(s.pass)}**. ${verdict(s)}${rel}`,
    '',
    cpuSection(s),
    '',
    phaseSection(s),
    '',
  ].join('\n');
}

/** The sections bench:large writes (appended after a run of this bench, which keeps them). */
const KEPT_SECTION = /^## (Large batch|Production build|Scenario 9)\b/;

/**
 * The `## Large batch`, `## Production build` and `## Scenario 9` (run only with `--only 9`) sections of an earlier
 * docs/benchmarks.md, kept on a rewrite.
 */
export function keptSections(previous: string): string {
  const parts = previous.split(/^(?=## )/m);
  return parts
    .filter((p) => KEPT_SECTION.test(p))
    .map((p) => p.trimEnd())
    .join('\n\n');
}

/** How to run the bench and its quick mode; the same text on every run. */
const RUNNING_IT = [
  '## Running it',
  '',
  '`npm run bench` (about half an hour on 2 cores). Sizes and knobs: `npm run bench -- --help`; for example ' +
    '`npm run bench -- --n1 5000 --n2 2000 --repeats 1 --small-runs 10 --rl-seconds 20 --ingest-lines 100000` ' +
    'for a shorter run, `--stores files` (or `postgres`) for one data plane, `--pg-url` for another PostgreSQL ' +
    'server, `--chunks-in-flight 16` (or `--chunk-size`, `--item-concurrency`) to measure other engine settings, ' +
    '`--rl-rpm` and `--rl-background-rpm` for other limits, or `--out ""` to print only. Every flag is also an ' +
    'env var (`BENCH_N1`, `BENCH_STORES`, ...). `--only 8` (or `7`, or `7,8`) runs that scenario alone, on the ' +
    'first data plane, and prints its section with the command and date instead of writing this page.',
  '',
  '`npm run bench -- --quick` runs every scenario tiny (a few hundred items, on both data planes; the ' +
    'rate-limited one at 12,000 RPM in two stacks covering both windows, both limit sources, one and three ' +
    'workers; 2,000 lines ingested and downloaded; 20 earlier batches) in a minute or two, checks only that each ' +
    'completes with every custom_id answered once, prints `bench: ok scenario N: …` for each, and writes its ' +
    'report to a temp file, never here. `npm test` runs it (`test/bench/quick.test.ts`), so the bench cannot rot ' +
    'unnoticed.',
  '',
  'The `## Large batch` sections below are written by `npm run bench:large` (one per data plane, replaced ' +
    'by its next run), the `## Production build` section from `bench/buildRss.ts`; this bench keeps them when it ' +
    'rewrites the page.',
  '',
];

/** How the two sides, the data planes and the CPU figures are measured. */
function comparedSection(r: Report): string[] {
  return [
    '## What is compared',
    '',
    '- **Loop**: one Node process, the official `openai` client (`maxRetries: 0`), a fixed number of lanes each ' +
      'taking the next request and keeping the answer in memory. Timed from the first request to the last answer.',
    '- **llmbatch**: the real stack from `src/cli/stack.ts` (Temporal dev server, simulator, worker and API as ' +
      'child processes, free ports, a temp `LLMBATCH_DATA_DIR`). One `POST /batches`, then `GET /batches/:id` ' +
      'until `status` is no longer `running`: req/s is timed from the POST to that poll. Then `GET ' +
      '/batches/:id/results` must hold N lines with N distinct custom_ids, all successful, or the bench fails.',
    "- **Data plane**: the file store (files under the stack's data dir, the default) or PostgreSQL " +
      '(`DATABASE_URL` set for the API and the worker, on a database the bench creates for that stack, ' +
      '`llmbatch_bench_<pid>_<random>`, and drops after). Everything else about the stacks is the same.',
    `- Each throughput scenario runs ${r.options.repeats} loop/llmbatch pairs, alternating, and reports the ` +
      'median of each side; the ratio is median over median. Every loop and llmbatch run is checked against the ' +
      "simulator's call count (no retries hide in the figures).",
    `- Before timing, each stack gets a warm-up of ${int(r.options.warmup)} requests through each side. The ` +
      'stack for scenario 1 also runs scenario 3; scenario 2 gets its own stack when its concurrency differs, ' +
      'because the worker reads it at start-up (with the same concurrency it runs on the first stack, the ' +
      "simulator's latency set at runtime). Scenarios 6 and 5 run last on the stack of scenario 2. Inherited " +
      '`LLMBATCH_*`, `OPENAI_*`, `SIM_*` and `DATABASE_URL` variables are cleared: the engine runs on its ' +
      'defaults, except `LLMBATCH_WORKER_CONCURRENCY` (the worker-wide cap on requests in flight), set to the ' +
      "loop's lane count, and any engine flag given to the bench.",
    '- CPU figures come from `/proc` per process group (each child of the stack is its own group), over the ' +
      "timed interval; with PostgreSQL also the server's backends serving the stack's database (not its shared WAL " +
      'writer and checkpointer). The machine is shared: before each timed run the bench waits up to ' +
      `${r.options.quietWaitS} s for other processes to leave it idle, and each CPU table shows what other ` +
      'processes used during the run.',
    '',
  ];
}

export function renderMarkdown(r: Report, kept = ''): string {
  const m = r.machine;
  const stores = r.stores.map((x) => STORE_LABEL[x.store]);
  const both = r.stores.length > 1;
  const planes = both
    ? `each data plane (${stores.join(' and ')}), on stacks of their own, each compared with the loop measured on ` +
      'its own stack in the same run'
    : `the ${stores[0]}`;
  const sections = (pick: (x: StoreRun) => string): string[] => r.stores.map(pick);
  return [
    "# Benchmarks: realtime mode against a hand-written loop, at a provider's rate limit, and the data plane",
    '',
    '> **The provider is the bundled simulated OpenAI-compatible provider (`src/provider`), not a real LLM.** ' +
      'Both sides call the same simulator process with the same settings, so the figures measure the client side: ' +
      'the loop on one side, the API, Temporal and the worker on the other. Scenario 2, with a second of latency ' +
      'per request, is the closer stand-in for a real provider; scenario 1 measures pure overhead (profiled ' +
      'process by process, with what changed, in [overhead.md](overhead.md)). Scenario 4 measures how close ' +
      "llmbatch runs to a provider's rate limit, which bounds most real batches.",
    '',
    `Scenarios 1 to 3 run on ${planes}; scenario 4 on the ${STORE_LABEL[r.s4.store]}. Scenarios 5 ` +
      '(ingest and download of a large batch) and 6 (creating a batch when the store holds many) measure the ' +
      'data plane itself.',
    '',
    `Generated by \`${r.command}\` on ${r.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC (the whole ` +
      `run took ${r.minutes.toFixed(1)} min). \`npm test\` runs only its quick mode (\`--quick\`), which checks ` +
      'results, not speed.',
    '',
    machineTable(m),
    '',
    '## Results',
    '',
    md(HEAD, rows(r)),
    '',
    rateTable(r.s4),
    '',
    ...comparedSection(r),
    ...sections((x) => scenario(x.s1, r.options, 'Scenario 1: throughput, zero-latency simulator')),
    ...sections((x) =>
      scenario(x.s2, r.options, `Scenario 2: throughput, ${r.options.latencyMedianMs} ms median latency`),
    ),
    ...sections((x) => `${smallSection(x.s3, `, ${STORE_LABEL[x.store]}`)}\n`),
    rateSection(r.s4),
    observabilitySection(r.s7),
    ...(r.s8 ? [validationSection(r.s8)] : []),
    ingestSection(r.stores.map((x) => x.data)),
    postSection(r.stores.map((x) => x.data)),
    ...RUNNING_IT,
    ...(kept ? [kept, ''] : []),
  ].join('\n');
}
