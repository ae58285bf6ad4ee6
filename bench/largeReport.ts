/** bench:large's section of docs/benchmarks.md: the run's figures, and its place among the other sections. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BatchWorkflowResult } from '../src/shared/contracts';
import type { CpuSample } from './cpu';
import { downloadProblem, type Download } from './download';
import { int, md } from './format';
import type { TableSize } from './postgres';
import type { RssFigures } from './rss';
import { STORE_LABEL, type StoreKind } from './stack';

export const HISTORY_WARNING = 10_240;
const TARGET_MB = { worker: 512, api: 256 };

/** What one large batch measured. */
export interface LargeRun {
  items: number;
  chunks: number;
  ingestS: number;
  runS: number;
  runCpu: CpuSample;
  result: BatchWorkflowResult;
  /** History length of every run of the workflow's continue-as-new chain. */
  lengths: number[];
  download: Download;
  memory: RssFigures;
  /** PostgreSQL: the largest tables and the database's size at the end. */
  sizes?: { tables: TableSize[]; databaseBytes: number };
  /** File store: the batch's directory size at the end. */
  dataBytes?: number;
}

/** How the run was made, for the section's heading and first lines. */
export interface LargeContext {
  command: string;
  startedAt: Date;
  store: StoreKind;
  /** The PostgreSQL server's version (PostgreSQL runs only). */
  postgres?: string;
  workerConcurrency: number;
}

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/** The memory bullet: peaks sampled during the run against the targets, idle figures, and each VmHWM. */
function memoryLine(report: LargeRun): { text: string; memoryOk: boolean } {
  const runPeak = (name: string): number => report.memory.peakMb[name] ?? NaN;
  const hwm = (name: string): number => report.memory.highWaterMb[name] ?? NaN;
  // A high-water mark already reached before the run started belongs to the process's start-up (the worker
  // bundles the workflow code with webpack when it starts), not to the batch.
  const hwmNote = (name: string): string =>
    (report.memory.highWaterBeforeMb[name] ?? 0) >= hwm(name) - 1
      ? 'reached before the batch started, at ' +
        `start-up${name === 'worker' ? ', where the Temporal SDK bundles the workflow code with webpack' : ''}`
      : 'reached during the run';
  const memoryOk = runPeak('worker') <= TARGET_MB.worker && runPeak('api') <= TARGET_MB.api;
  const text =
    '- Resident memory, sampled every 500 ms from the input write to the end of the download: worker peak ' +
    `**${int(runPeak('worker'))} MB** (target ≤ ${TARGET_MB.worker} MB), API peak **${int(runPeak('api'))} MB** ` +
    `(target ≤ ${TARGET_MB.api} MB; it served the download above), Temporal dev server ` +
    `${int(runPeak('temporal'))} MB: ${memoryOk ? 'PASS' : 'MISS'}. ` +
    `Before the batch (the stack started, idle): worker ${int(report.memory.firstMb.worker ?? NaN)} MB, API ` +
    `${int(report.memory.firstMb.api ?? NaN)} MB. ` +
    `The kernel's high-water mark (VmHWM) over each process's whole life: worker ${int(hwm('worker'))} MB ` +
    `(${hwmNote('worker')}), API ${int(hwm('api'))} MB (${hwmNote('api')}).`;
  return { text, memoryOk };
}

/** The store's size at the end: PostgreSQL's largest tables, or the batch's directory. */
function sizeLines(report: LargeRun): string[] {
  if (!report.sizes) return [`- The batch's directory in the data dir at the end: ${MiB(report.dataBytes ?? 0)}.`];
  return [
    `- Database size at the end ${MiB(report.sizes.databaseBytes)}; the largest tables ` +
      '(`pg_total_relation_size`: table, TOAST and indexes):',
    '',
    md(
      ['table', 'rows', 'size'],
      report.sizes.tables.slice(0, 6).map((t: TableSize) => [`\`${t.table}\``, int(t.rows), MiB(t.bytes)]),
    ),
    '',
  ];
}

/** The `## Large batch` section, and whether the run passed (every custom_id once, history under the warning). */
export function largeSection(report: LargeRun, c: LargeContext): { text: string; ok: boolean } {
  const items = report.items;
  const maxHistory = Math.max(...report.lengths);
  const problem = downloadProblem(report.download, items);
  const memory = memoryLine(report);
  const ok =
    report.result.status === 'completed' &&
    report.result.succeeded === items &&
    problem === undefined &&
    maxHistory < HISTORY_WARNING;
  const cpuMs = (name: string): string => (((report.runCpu.byName[name] ?? 0) * 1000) / items).toFixed(3);
  const onPg = c.store === 'postgres';
  const text = [
    `## Large batch${onPg ? ' on PostgreSQL' : ''} (\`${c.command}\`), ` +
      `${c.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- ${int(items)} chat items in ${int(report.chunks)} chunks, zero-latency **simulated** provider, one worker ` +
      `process, ${c.workerConcurrency} requests in flight; data plane: ` +
      `${onPg ? `PostgreSQL (${c.postgres ?? ''}; a fresh database for the run, dropped after)` : 'the file store'}.`,
    `- Input written to the store directly by the bench (${STORE_LABEL[c.store]}, not through the API) in ` +
      `${report.ingestS.toFixed(0)} s; workflow start to completion ${report.runS.toFixed(0)} s ` +
      `(${int(items / report.runS)} req/s).`,
    `- ${int(report.result.succeeded)} succeeded, ${int(report.result.failed)} failed. Read back through the API ` +
      `(\`GET /batches/:id/results\`): ${int(report.download.lines)} lines, ${int(report.download.distinct)} ` +
      `distinct custom_ids, ${report.download.duplicates} duplicates, ${report.download.unknown} unknown, in ` +
      `${(report.download.ms / 1000).toFixed(1)} s (${int(items / (report.download.ms / 1000))} lines/s, ` +
      `${MiB(report.download.bytes)})${problem ? `: **${problem}**` : ': every custom_id exactly once'}.`,
    `- ${report.lengths.length} workflow runs (continue-as-new); longest history ${int(maxHistory)} events ` +
      `(Temporal warns at ${int(HISTORY_WARNING)}).`,
    memory.text,
    `- CPU per item over the run: worker ${cpuMs('worker')} ms, simulator ${cpuMs('provider')} ms, Temporal ` +
      `${cpuMs('temporal')} ms${onPg ? `, PostgreSQL backends ${cpuMs('postgres')} ms` : ''}, API ${cpuMs('api')} ` +
      'ms.',
    ...sizeLines(report),
    `- ${ok ? 'PASS' : 'FAIL'} (every custom_id once, history under the ` +
      `warning)${memory.memoryOk ? '' : '; memory over target'}.`,
    '',
  ].join('\n');
  return { text, ok };
}

/** Replaces the previous `## Large batch` section of the same data plane, or appends one. */
export function writeSection(path: string, text: string, onPg: boolean): void {
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const parts = previous
    .split(/^(?=## )/m)
    .map((p) => p.trimEnd())
    .filter(Boolean);
  const mine = (p: string): boolean =>
    /^## Large batch\b/.test(p) && /^## Large batch on PostgreSQL\b/.test(p) === onPg;
  const at = parts.findIndex(mine);
  const next = parts.flatMap((p, i) => (i === at ? [text.trimEnd()] : mine(p) ? [] : [p]));
  if (at < 0) next.push(text.trimEnd());
  writeFileSync(path, `${next.join('\n\n')}\n`);
}
