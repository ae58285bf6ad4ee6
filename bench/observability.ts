/**
 * Scenario 7: what metrics and logs cost. Scenario 1's CPU-bound pair (the loop, then llmbatch, zero-latency
 * simulator) on stacks whose worker serves /metrics and logs at info, scraped every few seconds as a Prometheus
 * would, and on stacks with both off; the two kinds take turns, round by round, so drift in the machine's load
 * touches both alike. The figure that matters is llmbatch's throughput ratio to the loop measured beside it,
 * and the worker's CPU per request: with the observability on, neither may move by more than 3%.
 */
import { makeReviewRequests } from '../examples/reviews';
import type { CpuSample } from './cpu';
import { md } from './format';
import type { BenchOptions } from './options';
import type { ThroughputResult } from './results';
import { freePort, withStack, type StoreKind } from './stack';
import { engineSettings, throughput, warmUp } from './throughput';

type Say = (m: string) => void;
export type Observability = 'on' | 'off';

/** How much the ratio to the loop and the worker's CPU per request may move with metrics and logs on. */
export const OBSERVABILITY_TOLERANCE = 0.03;
/** How often the stacks with metrics on are scraped (Prometheus's default is 15 s; this is harsher). */
const SCRAPE_EVERY_MS = 5000;

export interface ObservabilityResult {
  runs: Record<Observability, ThroughputResult[]>;
  /** Medians over the rounds. */
  ratio: Record<Observability, number>;
  workerCpuMsPerRequest: Record<Observability, number>;
  /** on / off − 1. */
  ratioChange: number;
  cpuChange: number;
  scrapes: number;
  pass: boolean;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? ((s[Math.floor((s.length - 1) / 2)] ?? 0) + (s[Math.ceil((s.length - 1) / 2)] ?? 0)) / 2 : NaN;
};

/** The worker's CPU milliseconds per request over a measured interval in which `n` requests ran. */
export const workerCpuMs = (cpu: CpuSample, n: number): number => ((cpu.byName.worker ?? 0) * 1000) / n;
/** The worker's CPU milliseconds per request in llmbatch's run of a pair. */
export const workerCpuMsPerRequest = (r: ThroughputResult): number => workerCpuMs(r.llm.cpu, r.n);

/** The engine variables of each side: the worker's metrics endpoint and info logs, or neither. */
function observabilityEnv(side: Observability, metricsPort: number): Record<string, string> {
  return side === 'on'
    ? { LLMBATCH_WORKER_METRICS_PORT: String(metricsPort), LLMBATCH_LOG_LEVEL: 'info' }
    : { LLMBATCH_WORKER_METRICS_PORT: '', LLMBATCH_LOG_LEVEL: 'error' };
}

/**
 * Scrapes the worker's and the API's /metrics from now until stopped, and once more then (a quick run can end
 * before the first tick); resolves to the scrapes that answered 200.
 */
function scraper(urls: string[]): { stop: () => Promise<number> } {
  let ok = 0;
  const scrape = (): Promise<void> =>
    Promise.all(
      urls.map((url) =>
        fetch(url).then(
          (r) => (r.ok ? ok++ : undefined),
          () => undefined,
        ),
      ),
    ).then(() => undefined);
  const timer = setInterval(() => void scrape(), SCRAPE_EVERY_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await scrape();
      return ok;
    },
  };
}

/** One round on one side: a stack of its own, warmed up, then one loop/llmbatch pair. */
async function round(o: BenchOptions, store: StoreKind, side: Observability, name: string, say: Say) {
  const metricsPort = await freePort();
  const engine = engineSettings(o, o.c1, { SIM_SEED: '1' }, store);
  engine.engineEnv = { ...engine.engineEnv, ...observabilityEnv(side, metricsPort) };
  return withStack(engine, o.keepData, async (s) => {
    await warmUp(s, o, o.c1);
    const scraping = side === 'on' ? scraper([`http://127.0.0.1:${metricsPort}/metrics`, `${s.api}/metrics`]) : null;
    const lines = makeReviewRequests(o.n1, 42);
    const result = await throughput(s, { ...o, repeats: 1 }, { name, lines, engine, target: 0 }, say);
    const scrapes = (await scraping?.stop()) ?? 0;
    if (side === 'on' && scrapes === 0)
      throw new Error(`${name}: no scrape of the worker's or API's /metrics answered`);
    return { result, scrapes };
  });
}

export async function observabilityScenario(o: BenchOptions, store: StoreKind, say: Say): Promise<ObservabilityResult> {
  const runs: Record<Observability, ThroughputResult[]> = { on: [], off: [] };
  let scrapes = 0;
  for (let i = 1; i <= o.repeats; i++) {
    // Odd rounds start with the side off, even ones with it on.
    const order: Observability[] = i % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
    for (const side of order) {
      const name = `scenario 7, metrics and logs ${side} (${i}/${o.repeats})`;
      const r = await round(o, store, side, name, say);
      runs[side].push(r.result);
      scrapes += r.scrapes;
    }
  }
  const ratio = { on: median(runs.on.map((r) => r.ratio)), off: median(runs.off.map((r) => r.ratio)) };
  const cpu = {
    on: median(runs.on.map(workerCpuMsPerRequest)),
    off: median(runs.off.map(workerCpuMsPerRequest)),
  };
  const ratioChange = ratio.on / ratio.off - 1;
  const cpuChange = cpu.on / cpu.off - 1;
  say(
    `scenario 7: ratio to the loop ${ratio.off.toFixed(3)} off, ${ratio.on.toFixed(3)} on ` +
      `(${(ratioChange * 100).toFixed(1)}%); worker CPU ${cpu.off.toFixed(3)} → ${cpu.on.toFixed(3)} ms/request ` +
      `(${(cpuChange * 100).toFixed(1)}%); ${scrapes} scrapes`,
  );
  return {
    runs,
    ratio,
    workerCpuMsPerRequest: cpu,
    ratioChange,
    cpuChange,
    scrapes,
    pass: Math.abs(ratioChange) <= OBSERVABILITY_TOLERANCE,
  };
}

export const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** The summary row of the results table. */
export function observabilityRow(r: ObservabilityResult): string[] {
  return [
    `7 metrics and logs on vs off: scenario 1's pair, ${r.runs.on.length} rounds each`,
    `ratio ${r.ratio.off.toFixed(2)}× off`,
    `ratio ${r.ratio.on.toFixed(2)}× on`,
    signed(r.ratioChange),
    `within ±${(OBSERVABILITY_TOLERANCE * 100).toFixed(0)}%`,
    r.pass ? 'PASS' : 'MISS',
  ];
}

/** The scenario's section of docs/benchmarks.md: every round, then the medians. */
export function observabilitySection(r: ObservabilityResult): string {
  const line = (side: Observability) => (x: ThroughputResult, i: number) => [
    `${side}, round ${i + 1}`,
    `${Math.round(x.loop.rps)} req/s`,
    `${Math.round(x.llm.rps)} req/s`,
    `${x.ratio.toFixed(3)}×`,
    workerCpuMsPerRequest(x).toFixed(3),
  ];
  const head = ['stack', 'loop', 'llmbatch', 'ratio to the loop', 'worker CPU ms / request'];
  const rows = [
    ...r.runs.off.map(line('off')),
    ...r.runs.on.map(line('on')),
    ['**median, off**', '', '', `${r.ratio.off.toFixed(3)}×`, r.workerCpuMsPerRequest.off.toFixed(3)],
    ['**median, on**', '', '', `${r.ratio.on.toFixed(3)}×`, r.workerCpuMsPerRequest.on.toFixed(3)],
    ['**change**', '', '', signed(r.ratioChange), signed(r.cpuChange)],
  ];
  return [
    '## Scenario 7: metrics and logs on and off',
    '',
    "Scenario 1's pair (the loop, then llmbatch, against the zero-latency simulator) on stacks of their own: " +
      '"on" stacks serve the worker\'s /metrics (`LLMBATCH_WORKER_METRICS_PORT`) and log at ' +
      `\`LLMBATCH_LOG_LEVEL=info\`, and the worker's and API's /metrics are scraped every ` +
      `${SCRAPE_EVERY_MS / 1000} s ` +
      `(${r.scrapes} scrapes answered); "off" stacks have no worker metrics endpoint and log errors only. The sides ` +
      'take turns round by round. Target: the ratio to the loop moves by no more than ' +
      `${(OBSERVABILITY_TOLERANCE * 100).toFixed(0)}%: **${r.pass ? 'PASS' : 'MISS'}** (${signed(r.ratioChange)}).`,
    '',
    md(head, rows),
    '',
  ].join('\n');
}
