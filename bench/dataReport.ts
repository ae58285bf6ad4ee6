/** Scenarios 5 and 6 in the report: rows for the results table and a section each, both stores side by side. */
import type { CpuSample } from './cpu';
import { TARGETS, type DataResult } from './data';
import { LABEL } from './explain';
import { int, md, ms, pct } from './format';
import type { IngestResult } from './ingestDownload';
import type { PostLatencyResult, PostSide } from './postLatency';
import { STORE_LABEL } from './stack';

const pf = (pass: boolean): string => (pass ? 'PASS' : 'MISS');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.9 * xs.length) - 1)] ?? NaN;
const mb = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '–' : `${int(x)} MB`);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const secs = (msValue: number): string => `${(msValue / 1000).toFixed(1)} s`;

/** The API's highest resident memory seen: sampled peaks of both phases and its VmHWM. */
const apiPeak = (x: IngestResult): number =>
  Math.max(
    x.ingest.rss.peakMb.api ?? 0,
    x.download.rss.peakMb.api ?? 0,
    Number.isNaN(x.apiHighWaterMb) ? 0 : x.apiHighWaterMb,
  );

export function dataRows(data: DataResult[]): string[][] {
  const rows: string[][] = [];
  for (const d of data) {
    const x = d.ingest;
    if (!x) continue;
    const on = STORE_LABEL[d.store];
    rows.push([
      `5 ingest: ${int(x.lines)}-line NDJSON \`POST /batches\`, ${on}`,
      '–',
      `${int(x.ingest.lps)} lines/s (${secs(x.ingest.ms)})`,
      '–',
      `≥ ${int(TARGETS.ingestLps)} lines/s`,
      pf(x.ingest.lps >= TARGETS.ingestLps),
    ]);
    rows.push([
      `5 download: ${int(x.lines)} results, \`GET /batches/:id/results\`, ${on}`,
      '–',
      `${int(x.download.lps)} lines/s (${secs(x.download.ms)})`,
      '–',
      `≥ ${int(TARGETS.downloadLps)} lines/s`,
      pf(x.download.lps >= TARGETS.downloadLps),
    ]);
    rows.push([
      `5 API memory (RSS) during both, ${on}`,
      '–',
      `download peak ${mb(x.download.rss.peakMb.api)}, ingest peak ${mb(x.ingest.rss.peakMb.api)}; VmHWM since ` +
        `start ${mb(x.apiHighWaterMb)}`,
      '–',
      `< ${TARGETS.apiRssMb} MB`,
      pf(apiPeak(x) < TARGETS.apiRssMb),
    ]);
  }
  for (const d of data) {
    const p = d.post;
    if (!p) continue;
    const indexed = d.store === 'postgres';
    rows.push([
      `6 POST of a ${p.size}-item batch with ${int(p.after.earlierBatches)} earlier batches, ${STORE_LABEL[d.store]}`,
      '–',
      `median ${ms(median(p.after.postMs))}, against ${ms(median(p.before.postMs))} with ` +
        `${int(p.before.earlierBatches)} earlier`,
      `${p.ratio.toFixed(2)}×`,
      indexed ? `≤ ${TARGETS.postRatio.toFixed(2)}×` : 'none: no index (each POST reads every owner record)',
      indexed ? pf(p.ratio <= TARGETS.postRatio) : '–',
    ]);
  }
  return rows;
}

function cpuLine(c: CpuSample): string {
  const keys = ['api', 'worker', 'postgres', 'temporal', 'bench'].filter((k) => (c.byName[k] ?? 0) >= 0.05);
  return (
    keys.map((k) => `${(LABEL[k] ?? k).replace(/ \(.*\)$/, '')} ${(c.byName[k] ?? 0).toFixed(1)}`).join(', ') || '–'
  );
}

type IngestRun = DataResult & { ingest: IngestResult };

/** Scenario 5's figures, a column for each store. */
function ingestTable(runs: IngestRun[]): string {
  const col = (f: (x: IngestResult) => string): string[] => runs.map((d) => f(d.ingest));
  const perLine = (sec: number, x: IngestResult): string => `${((sec * 1e6) / x.lines).toFixed(1)} µs`;
  const busy = (c: CpuSample): string => pct((c.mainThread.api ?? NaN) / c.wallSeconds);
  return md(
    ['', ...runs.map((d) => STORE_LABEL[d.store]), 'target'],
    [
      ['batch to download written into the store (not timed)', ...col((x) => secs(x.fill.ms)), ''],
      [
        'API RSS before the download (idle, after the scenarios before it)',
        ...col((x) => mb(x.download.rss.firstMb.api)),
        '',
      ],
      ['download: request → last byte', ...col((x) => secs(x.download.ms)), ''],
      [
        'download: **lines/s**',
        ...col((x) => `**${int(x.download.lps)}**`),
        `≥ ${int(TARGETS.downloadLps)} (PostgreSQL)`,
      ],
      [
        'download: size',
        ...col((x) => `${mib(x.download.bytes)} (${int(x.download.bytes / x.lines)} bytes a line)`),
        '',
      ],
      [
        'download: API peak RSS (sampled every 100 ms)',
        ...col((x) => mb(x.download.rss.peakMb.api)),
        `< ${TARGETS.apiRssMb} MB`,
      ],
      ['download: CPU s by process', ...col((x) => cpuLine(x.download.cpu)), ''],
      [
        'download: API CPU per line; its main thread busy',
        ...col((x) => `${perLine(x.download.cpu.byName.api ?? 0, x)}; ${busy(x.download.cpu)}`),
        '',
      ],
      [
        'download: cores busy (whole machine); of which stolen by the host (steal)',
        ...col((x) => `${x.download.cpu.coresBusy.toFixed(2)}; ${x.download.cpu.stealCores.toFixed(2)}`),
        '',
      ],
      ['ingest: POST sent → 201', ...col((x) => secs(x.ingest.ms)), ''],
      ['ingest: **lines/s**', ...col((x) => `**${int(x.ingest.lps)}**`), `≥ ${int(TARGETS.ingestLps)} (PostgreSQL)`],
      ['ingest: MiB/s', ...col((x) => (x.bytes / 2 ** 20 / (x.ingest.ms / 1000)).toFixed(1)), ''],
      [
        'ingest: API peak RSS (sampled every 100 ms)',
        ...col((x) => mb(x.ingest.rss.peakMb.api)),
        `< ${TARGETS.apiRssMb} MB`,
      ],
      ['ingest: CPU s by process', ...col((x) => cpuLine(x.ingest.cpu)), ''],
      [
        'ingest: API CPU per line; its main thread busy',
        ...col((x) => `${perLine(x.ingest.cpu.byName.api ?? 0, x)}; ${busy(x.ingest.cpu)}`),
        '',
      ],
      [
        'ingest: cores busy (whole machine); of which stolen by the host (steal)',
        ...col((x) => `${x.ingest.cpu.coresBusy.toFixed(2)}; ${x.ingest.cpu.stealCores.toFixed(2)}`),
        '',
      ],
      [
        'API VmHWM at the end (its peak since the stack started)',
        ...col((x) => mb(x.apiHighWaterMb)),
        `< ${TARGETS.apiRssMb} MB`,
      ],
    ],
  );
}

export function ingestSection(data: DataResult[]): string {
  const runs = data.filter((d): d is IngestRun => d.ingest !== undefined);
  if (runs.length === 0) return '';
  const first = runs[0]!.ingest;
  const how = runs.map((d) => `${STORE_LABEL[d.store]}: ${d.ingest.fill.how}`).join('; ');
  return [
    `## Scenario 5: download and ingest of ${int(first.lines)} lines`,
    '',
    `- **Download** first: a batch of ${int(first.lines)} items with a result for each, **written straight into ` +
      "the store by the bench**, not run through a worker (running a million items is `npm run bench:large`'s to " +
      `measure; its section below downloads real results): ${how}. Then \`GET /batches/:id/results\`, timed from ` +
      'the request to the last byte; the bench checks that every custom_id comes exactly once (a bitmap over the ' +
      'custom_ids, not a parse of each line, so its own CPU stays small).',
    `- **Ingest** second: the same ${int(first.lines)} review-sentiment chat requests, without the system prompt ` +
      `(${int(first.bytes / first.lines)} bytes a line on average, ${mib(first.bytes)} in all), streamed from the ` +
      "bench's memory as one `POST /batches` with `Content-Type: application/x-ndjson`, timed from the first " +
      'byte sent to the 201: the API checks every line as it streams in (a duplicate custom_id is refused, so it ' +
      'remembers every one), estimates its tokens for chunking, writes the chunks to the store, then the owner ' +
      "record, and starts the workflow. The batch is then cancelled. The API's defaults admit it, so nothing was " +
      'raised: 1,000,000 items per batch (`LLMBATCH_QUOTA_ITEMS_PER_BATCH`, also its maximum) and 200 MiB per ' +
      'upload (`LLMBATCH_QUOTA_UPLOAD_BYTES`, also its maximum); the full review lines of scenario 1 (337 bytes) ' +
      'would not fit a million into 200 MiB.',
    "- **API memory**: the API process's VmRSS (`/proc/<pid>/status`) sampled every 100 ms during each phase, " +
      "and its VmHWM, the kernel's record of its peak since it started, at the end. The download comes first so " +
      "that its figure is not the ingest's: a Node process keeps most of the heap it has grown.",
    '',
    ingestTable(runs),
    '',
  ].join('\n');
}

export function postSection(data: DataResult[]): string {
  const runs = data.filter((d): d is DataResult & { post: PostLatencyResult } => d.post !== undefined);
  if (runs.length === 0) return '';
  const first = runs[0]!.post;
  const col = (f: (x: PostLatencyResult) => string): string[] => runs.map((d) => f(d.post));
  const side = (x: PostSide): string => `median ${ms(median(x.postMs))}, p90 ${ms(p90(x.postMs))}`;
  const table = md(
    ['', ...runs.map((d) => STORE_LABEL[d.store])],
    [
      [
        'batches in the store: before → after',
        ...col((x) => `${int(x.before.earlierBatches)} → ${int(x.after.earlierBatches)}`),
      ],
      [
        `putting ${int(first.fill.batches)} ended batches in (through the store classes, 8 at a time)`,
        ...col((x) => secs(x.fill.ms)),
      ],
      ['`POST /batches` → 201, few earlier batches', ...col((x) => side(x.before))],
      [
        `the first \`POST\` after the ${int(first.fill.batches)} were added`,
        ...col((x) => ms(x.after.postMs[0] ?? NaN)),
      ],
      [`\`POST /batches\` → 201, ${int(first.fill.batches)} more earlier batches`, ...col((x) => side(x.after))],
      [
        '**median after / before**',
        ...col(
          (x) =>
            `**${x.ratio.toFixed(2)}×**` +
            (x.store === 'postgres'
              ? ` (target ≤ ${TARGETS.postRatio.toFixed(2)}×: ${pf(x.ratio <= TARGETS.postRatio)})`
              : ' (no target: no index)'),
        ),
      ],
      [
        '`GET /batches?limit=20`, before → after (medians)',
        ...col((x) => `${ms(median(x.before.listMs))} → ${ms(median(x.after.listMs))}`),
      ],
    ],
  );
  return [
    `## Scenario 6: creating a batch with ${int(first.fill.batches)} earlier batches in the store`,
    '',
    `- ${first.before.postMs.length} POSTs of a ${first.size}-item JSON batch (after 5 untimed ones, since this ` +
      'API had only seen the large batches of the scenarios before), timed to the 201 answer; each batch then runs ' +
      'to its end (zero-latency simulator) and its results are checked before the next POST, and `GET ' +
      '/batches?limit=20` is timed once after each.',
    '- First on a store holding only the batches of the scenarios before it on this stack, then again after ' +
      `${int(first.fill.batches)} ended batches of one item each were put in **directly through the store ` +
      'classes** (`FileBatchStore`, `PostgresBatchStore`), as the API and a worker leave a batch: input, owner ' +
      "record and outcome, and on PostgreSQL the batch's quota slot (taken, started, ended by the outcome). Their " +
      "ids sort before the new ones, as older batches' do.",
    '- What a POST reads: the **file store** keeps no index, so the concurrent-batch check (`LocalAdmission`) ' +
      'lists every owner record of the store on each POST (and on the first POST after the fill also reads every ' +
      'outcome once; it then remembers those batches as ended). **PostgreSQL** admits through `batch_slots`: the ' +
      "tenant's unended slots through a partial index, under a per-tenant advisory lock; nothing scales with the " +
      'ended batches.',
    '',
    table,
    '',
  ].join('\n');
}
