/** Scenario 4 in the report: a summary row, its own table, and what was measured how. */
import { int, md, pct } from './format';
import type { RateCaseResult, RateLimitedResult } from './rateLimited';

const pf = (pass: boolean): string => (pass ? 'PASS' : 'MISS');
const rps = (x: number): string => `${x.toFixed(1)} req/s`;
const windowLabel = (r: RateLimitedResult, x: RateCaseResult): string =>
  x.window === 'empty'
    ? `empty (${rps(x.availableRps)})`
    : `busy: ${int(r.backgroundRpm)} RPM background (${rps(x.availableRps)})`;

const llmbatchRuns = (r: RateLimitedResult): RateCaseResult[] => r.runs.filter((x) => x.limit !== null);
const pacedRuns = (r: RateLimitedResult): RateCaseResult[] => r.runs.filter((x) => x.limit === null);

/** The row in the results table: how many cases reached the target, against the paced client. */
export function rateSummaryRow(r: RateLimitedResult): string[] {
  const cases = llmbatchRuns(r);
  const passed = cases.filter((x) => x.pass).length;
  const worst = Math.min(...cases.map((x) => x.share));
  return [
    `4 rate-limited: ${int(r.rpm)} RPM simulator, ${cases.length} cases (table below)`,
    `paced client: ${pacedRuns(r)
      .map((x) => `${pct(x.share)} (${x.window})`)
      .join(', ')} of the available rate`,
    `${passed} of ${cases.length} cases on target; lowest ${pct(worst)} of the available rate, highest 429 share ` +
      `${pct(Math.max(...cases.map((x) => x.figures.limitedShare)))}`,
    '–',
    `≥ ${pct(r.target.share)} of the available rate, < ${pct(r.target.limitedShare)} 429s, each case`,
    pf(passed === cases.length),
  ];
}

const HEAD = [
  'client',
  'provider window (available rate)',
  'limit',
  'workers',
  'rate reached (steady part)',
  '429s',
  'longest gap between answers',
  'run',
  'result',
];

export function rateRows(r: RateLimitedResult): string[][] {
  return r.runs.map((x) => [
    x.limit === null ? 'paced client' : 'llmbatch',
    windowLabel(r, x),
    x.limit === null
      ? 'told the available rate'
      : x.limit === 'configured'
        ? `\`LLMBATCH_RPM=${r.rpm}\``
        : 'none (from headers)',
    x.limit === null ? '–' : String(x.workers),
    `${rps(x.figures.steadyRps)} (${pct(x.share)})`,
    `${pct(x.figures.limitedShare)} (${int(x.figures.counts.limited)} of ${int(x.figures.counts.all)})`,
    `${(x.figures.longestGapMs / 1000).toFixed(1)} s`,
    `${int(x.items)} items in ${(x.ms / 1000).toFixed(1)} s`,
    pf(x.pass),
  ]);
}

export function rateTable(r: RateLimitedResult): string {
  return md(HEAD, rateRows(r));
}

export function rateSection(r: RateLimitedResult): string {
  const sample = llmbatchRuns(r)[0]?.figures.sampleMs ?? 100;
  return [
    '## Scenario 4: a rate-limited provider',
    '',
    `- Simulator: \`--rpm ${r.rpm}\` (token buckets refilling at ${int(r.rpm / 60)} requests per second, the ` +
      'default burst allowance of 1 s), zero latency, seed 1. The empty window starts with full buckets (`POST ' +
      `/_sim/reset\` with \`rateLimits: "full"\`). The busy window adds \`--background-rpm ${r.backgroundRpm}\` ` +
      '(other clients of the same organisation, charged to the same limit first, without HTTP calls) and starts ' +
      'with drained buckets (`rateLimits: "empty"`), as after a minute of traffic at the limit.',
    '- **Available rate** = (limit − background) / 60 per second. Each run has as many review-sentiment chat ' +
      `items as the available rate gives in ${r.seconds} s.`,
    '- **llmbatch**: ' +
      (r.quick
        ? 'quick mode: two stacks, each running both windows'
        : 'a fresh stack per case (nothing learned in one case helps the next)') +
      ', one `POST /batches` with the engine at its defaults (and any engine flag given to the bench); with ' +
      "`LLMBATCH_RPM` set (configured) or no limit at all (learned from the answers' headers); one worker " +
      'process, or three on the same task queue.',
    '- **Paced client**: the loop a user would write knowing their share of the limit: the official `openai` ' +
      'client (`maxRetries: 0`) sending one request every 1/(available rate) seconds on a fixed schedule; a 429 ' +
      'sends that item again after its `retry-after-ms`, and moves the schedule back by as much. It runs on the ' +
      "first stack's simulator, in the same run.",
    `- **Measured at the simulator**: its counts of chat-completion answers by status, sampled every ${sample} ` +
      'ms. *Rate reached* is the rate of successful answers between 10% and 90% of the items (the steady part), as ' +
      'a share of the available rate (above 100% when a client saved up burst allowance before the steady part, ' +
      'e.g. while the batch started). *429s* are over every chat request the client sent. *Longest gap* is the ' +
      'longest time between two successive successful answers from the first to the last (to within one sampling ' +
      'interval). Every item must be answered successfully exactly once, or the bench fails.',
    `- Target for each case: at least ${pct(r.target.share)} of the available rate with under ` +
      `${pct(r.target.limitedShare)} 429s.`,
    '',
    rateTable(r),
    '',
  ].join('\n');
}
