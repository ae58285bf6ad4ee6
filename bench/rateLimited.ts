/**
 * Scenario 4: a batch against a rate-limited simulator (zero latency), measured at the simulator.
 * Cases: the provider's window empty, or shared with background traffic; llmbatch told the limit
 * (LLMBATCH_RPM) or left to learn it from the provider's headers; one or three worker processes.
 * A plain client pacing at the available rate runs against the same simulator in the same run.
 *
 * Each case gets a fresh stack, so nothing one case learned (in a worker, or applied to the task
 * queue) helps the next. Quick mode runs two stacks with both windows each (correctness only).
 */
import { makeReviewRequests } from '../examples/reviews';
import type { BatchLine } from '../src/shared/contracts';
import { runPaced } from './paced';
import { chatCounts, sampleRate, type RateFigures } from './rateSampler';
import {
  runBatch,
  simConfigure,
  simReset,
  withStack,
  type BenchStack,
  type EngineSettings,
  type StoreKind,
} from './stack';

export type Window = 'empty' | 'busy';
export type LimitSource = 'configured' | 'learned';

export interface RateCase {
  window: Window;
  /** null: the plain paced client, not llmbatch. */
  limit: LimitSource | null;
  workers: number;
}

export interface RateCaseResult extends RateCase {
  items: number;
  availableRps: number;
  figures: RateFigures;
  /** Start (POST, or the first request) to the last answer seen (llmbatch: the poll that saw it end). */
  ms: number;
  share: number;
  pass: boolean;
}

export interface RateLimitedResult {
  /** The data plane of its stacks (the first of the bench's stores). */
  store: StoreKind;
  rpm: number;
  backgroundRpm: number;
  seconds: number;
  quick: boolean;
  runs: RateCaseResult[];
  /** Targets: the share of the available rate at least, the 429 share under. */
  target: { share: number; limitedShare: number };
}

export interface RateSettings {
  rpm: number;
  backgroundRpm: number;
  /** Each run's length at the available rate; the steady part is its middle 80%. */
  seconds: number;
  pollMs: number;
  keepData: boolean;
  quick: boolean;
}

const TARGET = { share: 0.95, limitedShare: 0.01 };

/** One stack's configuration and the windows run on it, in order. */
interface Plan {
  limit: LimitSource;
  workers: number;
  windows: Window[];
}

function plans(quick: boolean): Plan[] {
  // Quick mode covers every setting (both windows, both limit sources, 1 and 3 workers) in two stacks.
  if (quick)
    return [
      { limit: 'configured', workers: 1, windows: ['empty', 'busy'] },
      { limit: 'learned', workers: 3, windows: ['busy', 'empty'] },
    ];
  const all: Plan[] = [];
  for (const workers of [1, 3])
    for (const limit of ['configured', 'learned'] as const)
      for (const w of ['empty', 'busy'] as const) all.push({ limit, workers, windows: [w] });
  return all;
}

/**
 * Empty: full buckets and no background. Busy: background traffic takes its share, and the buckets
 * start drained, as after a minute of traffic at the limit (the window already in use).
 */
async function prepareWindow(s: BenchStack, r: RateSettings, window: Window): Promise<void> {
  const backgroundRpm = window === 'busy' ? r.backgroundRpm : 0;
  await simConfigure(s.simOrigin, { backgroundRpm });
  await simReset(s.simOrigin, { rateLimits: window === 'busy' ? 'empty' : 'full' });
}

const available = (r: RateSettings, window: Window): number => (r.rpm - (window === 'busy' ? r.backgroundRpm : 0)) / 60;

function itemsFor(r: RateSettings, window: Window): BatchLine[] {
  const n = Math.max(10, Math.round(available(r, window) * r.seconds));
  return makeReviewRequests(n, window === 'busy' ? 45 : 44);
}

/** One run (llmbatch or the paced client) in a prepared window; throws unless every item was answered once. */
async function measure(s: BenchStack, r: RateSettings, c: RateCase): Promise<RateCaseResult> {
  await prepareWindow(s, r, c.window);
  const lines = itemsFor(r, c.window);
  const availableRps = available(r, c.window);
  const stop = sampleRate(s.simOrigin, lines.length);
  const ms =
    c.limit === null
      ? (await runPaced(s.stack.urls.provider, lines, availableRps)).ms
      : (await runBatch(s.api, lines, r.pollMs)).doneMs;
  const figures = await stop();
  // Every item admitted exactly once at the simulator: a duplicate or a lost call shows here.
  const { ok } = await chatCounts(s.simOrigin);
  if (ok !== lines.length)
    throw new Error(`${label(c)}: the simulator answered ${ok} calls successfully for ${lines.length} items`);
  const share = figures.steadyRps / availableRps;
  const pass = share >= TARGET.share && figures.limitedShare < TARGET.limitedShare;
  return { ...c, items: lines.length, availableRps, figures, ms, share, pass };
}

export function label(c: RateCase): string {
  const window = c.window === 'empty' ? 'empty window' : 'busy window';
  if (c.limit === null) return `paced client, ${window}`;
  return `llmbatch, ${window}, limit ${c.limit}, ${c.workers} worker${c.workers > 1 ? 's' : ''}`;
}

export async function rateLimited(
  base: EngineSettings,
  r: RateSettings,
  say: (m: string) => void,
): Promise<RateLimitedResult> {
  const runs: RateCaseResult[] = [];
  const record = (x: RateCaseResult): void => {
    runs.push(x);
    say(
      `rate-limited: ${label(x)}: ${x.figures.steadyRps.toFixed(1)} req/s of ${x.availableRps.toFixed(1)} ` +
        `available (${(x.share * 100).toFixed(1)}%), ${x.figures.counts.limited} 429s of ${x.figures.counts.all} ` +
        `requests, longest gap ${Math.round(x.figures.longestGapMs)} ms`,
    );
  };
  say(
    `rate-limited: simulator at ${r.rpm} RPM, background ${r.backgroundRpm} RPM in the busy window, zero ` +
      `latency; ${plans(r.quick).length} stacks`,
  );
  for (const [i, plan] of plans(r.quick).entries()) {
    const engineEnv: Record<string, string> = plan.limit === 'configured' ? { LLMBATCH_RPM: String(r.rpm) } : {};
    const settings = { ...base, simEnv: { SIM_SEED: '1', SIM_RPM: String(r.rpm) }, engineEnv, workers: plan.workers };
    await withStack(settings, r.keepData, async (s) => {
      // The plain client's runs go on the first stack, before llmbatch has touched its simulator.
      if (i === 0)
        for (const window of ['empty', 'busy'] as const)
          record(await measure(s, r, { window, limit: null, workers: 1 }));
      for (const window of plan.windows)
        record(await measure(s, r, { window, limit: plan.limit, workers: plan.workers }));
    });
  }
  return {
    store: base.store ?? 'files',
    rpm: r.rpm,
    backgroundRpm: r.backgroundRpm,
    seconds: r.seconds,
    quick: r.quick,
    runs,
    target: TARGET,
  };
}
