/**
 * The "why" sections of the report, written from measured figures only:
 * CPU per request by process, where the request slots went (from the
 * workflow history), and the phases of a small batch.
 */
import { availableParallelism } from 'node:os';
import type { CpuSample } from './cpu';
import { int, md, ms, pct } from './format';
import type { SmallResult, ThroughputResult } from './results';

export function verdict(s: ThroughputResult): string {
  const needed = s.target * s.loop.rps;
  if (s.pass) return `${int(s.llm.rps - needed)} req/s above the ${int(needed)} req/s the target needs.`;
  return (
    `**Missed by ${(s.target - s.ratio).toFixed(2)}×**: the target needs ${int(needed)} req/s, llmbatch reached ` +
    `${int(s.llm.rps)} req/s, ${pct(1 - s.llm.rps / needed)} short. The measured reasons follow.`
  );
}

const ORDER = ['bench', 'provider', 'temporal', 'worker', 'api', 'postgres'];
export const LABEL: Record<string, string> = {
  bench: 'bench process',
  provider: 'simulator',
  temporal: 'Temporal dev server',
  worker: 'llmbatch worker',
  api: 'llmbatch API',
  postgres: "PostgreSQL (the stack's database's backends)",
};

/** Cores used by processes that are not the bench's (steal apart): a sign the figures are disturbed. */
export const others = (c: CpuSample): number =>
  Math.max(0, c.coresBusy - c.stealCores - Object.values(c.byName).reduce((a, b) => a + b, 0) / c.wallSeconds);

const sum = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
// Share of the run a Node process's main thread was busy; Temporal is a Go server, so not shown.
const loopBusy = (c: CpuSample, k: string): number => (c.mainThread[k] ?? NaN) / c.wallSeconds;
/** CPU milliseconds per request of the scenario, from CPU seconds. */
const perRequest =
  (s: ThroughputResult) =>
  (sec: number): string =>
    ((sec * 1000) / s.n).toFixed(3);

/** CPU seconds, per request and event-loop share of each process, loop run beside llmbatch run. */
function cpuTable(s: ThroughputResult): string {
  const cores = availableParallelism();
  const perReq = perRequest(s);
  const el = (c: CpuSample, k: string): string => (k === 'temporal' || k === 'postgres' ? '–' : pct(loopBusy(c, k)));
  const [loop, llm] = [s.loop.cpu.byName, s.llm.cpu.byName];
  const row = (k: string): string[] => [
    LABEL[k] ?? k,
    ...[s.loop.cpu, s.llm.cpu].flatMap((c) => [(c.byName[k] ?? 0).toFixed(1), perReq(c.byName[k] ?? 0), el(c, k)]),
  ];
  return md(
    [
      'process',
      'loop run: CPU s',
      'CPU ms / req',
      'event loop busy',
      'llmbatch run: CPU s',
      'CPU ms / req',
      'event loop busy',
    ],
    [
      ...ORDER.filter((k) => k in loop || k in llm).map(row),
      [
        '**total**',
        sum(loop).toFixed(1),
        `**${perReq(sum(loop))}**`,
        '',
        sum(llm).toFixed(1),
        `**${perReq(sum(llm))}**`,
        '',
      ],
      [
        'cores busy (whole machine)',
        `${s.loop.cpu.coresBusy.toFixed(2)} of ${cores}`,
        '',
        '',
        `${s.llm.cpu.coresBusy.toFixed(2)} of ${cores}`,
        '',
        '',
      ],
      [
        "of which other processes (not the bench's)",
        `${others(s.loop.cpu).toFixed(2)} cores`,
        '',
        '',
        `${others(s.llm.cpu).toFixed(2)} cores`,
        '',
        '',
      ],
      [
        'of which stolen by the host for other VMs (steal)',
        `${s.loop.cpu.stealCores.toFixed(2)} cores`,
        '',
        '',
        `${s.llm.cpu.stealCores.toFixed(2)} cores`,
        '',
        '',
      ],
    ],
  );
}

/** What bounded the ratio, read from the CPU figures: one event loop each, the machine's cores, or neither. */
function cpuReading(s: ThroughputResult): string {
  const cores = availableParallelism();
  const perReq = perRequest(s);
  const [loop, llm] = [s.loop.cpu.byName, s.llm.cpu.byName];
  const [loopEl, workerEl] = [loopBusy(s.loop.cpu, 'bench'), loopBusy(s.llm.cpu, 'worker')];
  const [loopMain, workerMain] = [s.loop.cpu.mainThread.bench ?? NaN, s.llm.cpu.mainThread.worker ?? NaN];
  const machineBound = s.loop.cpu.coresBusy > 0.8 * cores && s.llm.cpu.coresBusy > 0.8 * cores;
  if (loopEl >= 0.85 && workerEl >= 0.85) {
    return (
      `Both sides were bound by one Node event loop each: the loop's process kept its main thread ${pct(loopEl)} ` +
      `busy, llmbatch's worker ${pct(workerEl)} (the machine: ${s.loop.cpu.coresBusy.toFixed(2)} and ` +
      `${s.llm.cpu.coresBusy.toFixed(2)} of ${cores} cores busy). ` +
      `Main-thread CPU per request was ${perReq(loopMain)} ms in the loop and ${perReq(workerMain)} ms in the ` +
      `worker, which predicts a ratio of about ${(loopMain / workerMain).toFixed(2)}× (measured ` +
      `${s.ratio.toFixed(2)}×): ` +
      `the worker's extra ${perReq(workerMain - loopMain)} ms per request is what it does around each provider ` +
      'call that the loop does not.'
    );
  }
  if (machineBound) {
    const engine = ['temporal', 'worker', 'api', 'postgres', 'bench']
      .filter((k) => k in llm)
      .map((k) => [k, llm[k] ?? 0] as const)
      .sort((a, b) => b[1] - a[1]);
    return (
      `Both runs kept the machine's ${cores} cores busy, so throughput is bounded by CPU per request: the loop's ` +
      `${perReq(sum(loop))} CPU ms per request against llmbatch's ${perReq(sum(llm))} predicts a ratio of about ` +
      `${(sum(loop) / sum(llm)).toFixed(2)}× (measured ${s.ratio.toFixed(2)}×). ` +
      "Besides the simulator, llmbatch's CPU went to " +
      `${engine.map(([k, v]) => `${LABEL[k] ?? k} ${perReq(v)} ms`).join(', ')} per request.`
    );
  }
  return (
    `CPU does not bound this ratio: the machine had idle capacity (${s.loop.cpu.coresBusy.toFixed(2)} and ` +
    `${s.llm.cpu.coresBusy.toFixed(2)} of ${cores} cores busy in the loop and llmbatch runs) and no event loop ` +
    `was full (loop ${pct(loopEl)}, worker ${pct(workerEl)}). llmbatch used ` +
    `${(sum(llm) / sum(loop)).toFixed(2)}× the loop's CPU per request.`
  );
}

export function cpuSection(s: ThroughputResult): string {
  const note =
    'the bench process is the loop itself in the loop run, and the client that posts and polls in the llmbatch ' +
    'run; "event loop busy" is the share of the run its main thread was on a CPU';
  return `CPU over the timed interval (${note}):\n\n${cpuTable(s)}\n\n${cpuReading(s)}`;
}

const sec = (msValue: number): string => `${(msValue / 1000).toFixed(2)} s`;

/** Where llmbatch's extra wall time arose, from the simulator's answer curve, plus the engine's milestones. */
export function phaseSection(s: ThroughputResult): string {
  const [a, b] = [s.loop.curve, s.llm.curve];
  const parts = (c: typeof a): number[] => [c.t10, c.t90 - c.t10, c.t100 - c.t90, c.end - c.t100];
  const [pa, pb] = [parts(a), parts(b)];
  const names = [
    'start → 10% of requests answered',
    '10% → 90% answered (the steady middle)',
    '90% → last answer',
    'last answer → done (llmbatch: completion seen by a poll)',
  ];
  const rows = names.map((name, i) => [
    name,
    sec(pa[i] ?? NaN),
    sec(pb[i] ?? NaN),
    sec((pb[i] ?? NaN) - (pa[i] ?? NaN)),
  ]);
  rows[1] = [
    names[1] ?? '',
    `${sec(pa[1] ?? NaN)} (${int(a.steadyRps)} req/s)`,
    `${sec(pb[1] ?? NaN)} (${int(b.steadyRps)} req/s)`,
    sec((pb[1] ?? NaN) - (pa[1] ?? NaN)),
  ];
  const table = md(
    ['phase', 'loop', 'llmbatch', 'llmbatch − loop'],
    [...rows, ['**total**', sec(a.end), sec(b.end), `**${sec(b.end - a.end)}**`]],
  );
  const extra = b.end - a.end;
  const ranked = names.map((n, i) => [n, (pb[i] ?? 0) - (pa[i] ?? 0)] as const).sort((x, y) => y[1] - x[1]);
  const share = ranked.map(([n, d]) => `${sec(d)} in "${n}" (${pct(d / extra)})`).join(', ');
  const t = s.llm.times;
  const milestones =
    `llmbatch's milestones (workflow history): POST answered after ${ms(s.llm.postMs)}; first chunk activity ` +
    `started ${ms(t.firstChunkMs)} after the POST was sent; ` +
    `${s.llm.chunks} chunks of ${s.engine.chunkSize}, mean ${ms(t.meanChunkMs)} each; when a chunk closed, the ` +
    `next was scheduled ${ms(t.refillScheduleMs)} later (a workflow task) and started ${ms(t.refillDispatchMs)} ` +
    'after that; ' +
    `last chunk closed → a poll saw the batch ended ${ms(t.endSeenMs)} (finishBatch stores the outcome the API ` +
    `reads; polling every ${s.llm.pollMs} ms).`;
  const latencyBound = Boolean(s.engine.simEnv.SIM_LATENCY_MEDIAN_MS);
  // Little's law (in flight = rate × round trip): with the same
  // latency on both sides, the rate ratio is the in-flight ratio.
  const little = latencyBound
    ? ` Both sides see the same latency, so by Little's law llmbatch kept ${pct(b.steadyRps / a.steadyRps)} as ` +
      'many requests in flight as the loop in the steady middle (the loop: about ' +
      `${int(Math.min(s.concurrency, (a.steadyRps * s.loop.meanLatencyMs) / 1000))} of its ${s.concurrency} lanes, ` +
      `by its mean round trip of ${ms(s.loop.meanLatencyMs)}).`
    : '';
  return [
    "Where the time went, from the simulator's count of answered calls sampled every 100 ms during both runs " +
      '(same sampling for both sides):',
    '',
    table,
    '',
    `Of llmbatch's ${sec(extra)} more than the loop: ${share}.${little}`,
    '',
    milestones,
  ].join('\n');
}

export function smallSection(s: SmallResult, on = ''): string {
  const entries = Object.entries(s.breakdown);
  const largest = entries
    .filter(([k]) => !k.startsWith('…'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  const miss = s.pass
    ? ''
    : ` **Missed by ${ms(s.llm.medianMs - s.target)}** (median ${ms(s.llm.medianMs)} against ${s.target} ms).`;
  return [
    `## Scenario 3: small-batch latency${on}`,
    '',
    `- ${s.runs} runs of a ${s.size}-item batch, zero-latency simulator, polling \`GET /batches/:id\` every ` +
      `${s.pollMs} ms. Timed from sending the POST to having read all ${s.size} results (verified).`,
    `- Loop (${s.size} lanes): median ${ms(s.loop.medianMs)}, p90 ${ms(s.loop.p90Ms)}.`,
    `- llmbatch: median **${ms(s.llm.medianMs)}**, p90 ${ms(s.llm.p90Ms)}. Target median ≤ ${s.target} ms: ` +
      `**${s.pass ? 'PASS' : 'MISS'}**.${miss}`,
    '',
    'Median of each phase over the runs (POST and poll on the bench clock, the rest from the workflow history; ' +
      'medians of phases need not add up to the median total; the row starting with … is part of the row above it):',
    '',
    md(
      ['phase', 'median'],
      entries.map(([k, v]) => [k, ms(v)]),
    ),
    '',
    `The largest phases: ${largest.map(([k, v]) => `${k} (${ms(v)})`).join('; ')}. Polling every ${s.pollMs} ms ` +
      'adds about half that on average.',
  ].join('\n');
}
