/**
 * `npm run llmbatch -- <command>`: the project API from a terminal, with live progress.
 *   submit <file.jsonl> [--mode m] [--priority n] [--model m] [--lane name] [--webhook url] [--budget usd]
 *          [--cache true|false] [--schema schema.json] [--repair-attempts n] [--not-before time]
 *          [--window "01:00-06:00 Europe/Berlin"] [--wait]
 *                                    --schema: the JSON Schema every answer must follow (?output_schema=);
 *                                    --not-before: start then (ISO 8601); --window: run only in those hours
 *   submit --pipeline pipeline.yaml <items.jsonl> [--priority n] [--model m] [--repair-attempts n]
 *          [--webhook url] [--wait]  POST /pipelines: the file's steps (YAML or JSON) run in order for each item
 *                                    (a JSONL object with a custom_id); --model for the steps that name none
 *   watch <id>                       live progress until the batch ends (exit 1 unless it completed), with
 *                                    repairs, invalid outputs and a pipeline's per-step ok/failed counts
 *   status <id>                      progress as JSON
 *   results <id> [--status failed|succeeded] [--out file]
 *   list [--status s] [--limit n]
 *   cancel | pause | resume | retry <id>
 *   schedule create | list | show | pause | unpause | trigger | delete   recurring batches (schedules.ts)
 * submit --wait on a file of at most 1,000 lines asks the API to wait (`?wait=60s`) and prints the results summary
 * when the batch ends within it; otherwise, and for larger files, it watches the progress.
 * The files submit reads itself (pipeline, items, schema) are checked first; an error names the file and line.
 * LLMBATCH_URL (default http://127.0.0.1:3000) says where the API is; LLMBATCH_API_KEY is sent as the Bearer key.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { isEnded } from '../shared/statuses';
import type { BatchListView, BatchView, CreatedBatchView, RetriedBatchView } from '../shared/views';
import { ApiClient, ApiError, linesUpTo, progressBar, progressDetails } from './apiClient';
import { readItemsFile, readPipelineFile, readSchemaFile } from './inputFiles';
import { SCHEDULE_USAGE, scheduleCommand, ScheduleUsageError } from './schedules';

const SUBMIT_OPTIONS =
  '[--mode realtime|native|auto] [--priority 1-5] [--model m] [--lane name] [--webhook url] [--budget usd]\n' +
  '         [--cache true|false] [--schema schema.json] [--repair-attempts 0-10] [--not-before ISO-8601]\n' +
  '         [--window "HH:MM-HH:MM Zone/Name"] [--wait]';
const PIPELINE_OPTIONS = '[--priority 1-5] [--model m] [--repair-attempts 0-10] [--webhook url] [--wait]';

const USAGE = `usage: npm run llmbatch -- <command> [options]
  submit <file.jsonl> ${SUBMIT_OPTIONS}
  submit --pipeline <pipeline.yaml> <items.jsonl>
         ${PIPELINE_OPTIONS}
                    pipeline file: steps: [{name, endpoint?, model?, body, outputSchema?, repairAttempts?}];
                    items: one JSON object with a custom_id per line; --model: for steps that name no model
                    --wait: a file of at most 1,000 lines waits in the API (60 s) for its results summary;
                    else (or past that) the live progress until the batch ends
  watch <id>        live progress until the batch ends (repaired, invalid, per-step ok/failed when any)
  status <id>       progress as JSON
  results <id> [--status all|succeeded|failed] [--out file]
  list [--status scheduled|running|paused|completed|cancelled|failed] [--limit n]
  cancel <id> | pause <id> | resume <id> | retry <id>
${SCHEDULE_USAGE}
environment: LLMBATCH_URL (default http://127.0.0.1:3000), LLMBATCH_API_KEY`;

const OPTIONS = {
  mode: { type: 'string' },
  priority: { type: 'string' },
  model: { type: 'string' },
  webhook: { type: 'string' },
  budget: { type: 'string' },
  lane: { type: 'string' },
  cache: { type: 'string' },
  schema: { type: 'string' },
  pipeline: { type: 'string' },
  'repair-attempts': { type: 'string' },
  'not-before': { type: 'string' },
  window: { type: 'string' },
  wait: { type: 'boolean' },
  status: { type: 'string' },
  out: { type: 'string' },
  limit: { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  timezone: { type: 'string' },
  overlap: { type: 'string' },
  paused: { type: 'boolean' },
  note: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

/** `submit --wait` on a file of at most this many lines waits in the API (`?wait=60s`) before watching. */
const WAIT_IN_API_MAX_LINES = 1000;

/** The parsed options, as parseArgs types them. */
type Options = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>
>['values'];

/** A whole-number option (`--repair-attempts 2`), or undefined when not given. */
function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: expected a whole number, got ${value}`);
  return Number(value);
}

/** `--window "01:00-06:00 Europe/Berlin"` as the API's `window` parameter (JSON text); the API checks the values. */
function runWindowParam(value: string): string {
  const m = /^(\S+)-(\S+)\s+(\S+)$/.exec(value.trim());
  if (!m) throw new UsageError(`--window: expected "HH:MM-HH:MM Zone/Name", such as "01:00-06:00 Europe/Berlin"`);
  return JSON.stringify({ start: m[1], end: m[2], timezone: m[3] });
}

/** Prints what was created; with --wait, watches it to the end. The exit code. */
async function created(client: ApiClient, batch: CreatedBatchView, what: string, wait?: boolean): Promise<number> {
  const reason = batch.modeReason ? ` (${batch.modeReason})` : '';
  console.log(`batch ${batch.id}: ${batch.total} ${what}, ${batch.mode}${reason}`);
  if (!wait) return 0;
  return (await watch(client, batch.id)).status === 'completed' ? 0 : 1;
}

/** Submits a JSONL file (with --schema, the JSON Schema every answer must follow); with --wait, watches it. */
async function submit(client: ApiClient, file: string | undefined, values: Options): Promise<number> {
  if (values.pipeline !== undefined) return submitPipeline(client, values.pipeline, file, values);
  if (!file) throw new UsageError('submit: give the JSONL file of requests');
  const repairs = wholeNumber(values['repair-attempts'], '--repair-attempts');
  const options = {
    mode: values.mode,
    priority: values.priority,
    model: values.model,
    webhook_url: values.webhook,
    budget_usd: values.budget,
    lane: values.lane,
    cache: values.cache,
    output_schema: values.schema === undefined ? undefined : await readSchemaFile(values.schema),
    repair_attempts: repairs?.toString(),
    not_before: values['not-before'],
    window: values.window === undefined ? undefined : runWindowParam(values.window),
  };
  if (values.wait && (await linesUpTo(file, WAIT_IN_API_MAX_LINES)) <= WAIT_IN_API_MAX_LINES)
    return submitAndWait(client, file, options);
  return created(client, await client.submitFile(file, options), 'requests', values.wait);
}

/** A small file: the API waits up to 60 s; the results summary if the batch ended by then, else watches it. */
async function submitAndWait(client: ApiClient, file: string, options: Record<string, string | undefined>) {
  const started = Date.now();
  const answer = await client.submitFileAndWait(file, options, '60s');
  if (!answer.ended) {
    const { batch } = answer;
    const why = batch.wait === 'timeout' ? 'not ended within the wait' : batch.message;
    console.log(`${why}: watching`);
    return created(client, batch, 'requests', true);
  }
  // As a watched batch prints it: the batch, then (here) its failures by code, then the final progress line.
  const { id, lines } = answer;
  console.log(`batch ${id}: ${lines.length} requests, realtime`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`ended within the wait, in ${seconds} s; results: npm run llmbatch -- results ${id}`);
  const failures = new Map<string, number>();
  for (const l of lines) if (l.error) failures.set(l.error.code, (failures.get(l.error.code) ?? 0) + 1);
  for (const [code, n] of failures) console.log(`  ${n} failed: ${code}`);
  const p = await client.json<BatchView>('GET', `/batches/${encodeURIComponent(id)}`);
  console.log(`${progressBar(p)}${progressDetails(p)}`);
  return p.status === 'completed' ? 0 : 1;
}

/** POST /pipelines from a pipeline file (YAML or JSON) and a JSONL file of items, both checked here first. */
async function submitPipeline(
  client: ApiClient,
  pipelineFile: string,
  itemsFile: string | undefined,
  values: Options,
): Promise<number> {
  if (!itemsFile) throw new UsageError('submit --pipeline: give the pipeline file, then the JSONL file of items');
  for (const flag of ['schema', 'lane', 'budget', 'cache'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`submit --pipeline: --${flag} does not apply to a pipeline`);
  }
  const priority = wholeNumber(values.priority, '--priority');
  const repairAttempts = wholeNumber(values['repair-attempts'], '--repair-attempts');
  const steps = await readPipelineFile(pipelineFile, values.model);
  const items = await readItemsFile(itemsFile);
  const options = {
    ...(values.mode !== undefined ? { mode: values.mode } : {}),
    ...(repairAttempts !== undefined ? { repairAttempts } : {}),
    ...(values.webhook !== undefined ? { webhook: { url: values.webhook } } : {}),
  };
  const batch = await client.json<CreatedBatchView>('POST', '/pipelines', {
    steps,
    items,
    ...(priority !== undefined ? { priority } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  });
  const names = steps.map((s) => String((s as { name?: unknown }).name));
  return created(client, batch, `items, steps ${names.join(' → ')}`, values.wait);
}

/** Polls until the batch ends, redrawing one line on a terminal, printing each change otherwise. */
async function watch(client: ApiClient, id: string): Promise<BatchView> {
  const tty = process.stdout.isTTY;
  let last = '';
  for (;;) {
    const p = await client.json<BatchView>('GET', `/batches/${encodeURIComponent(id)}`);
    const eta = p.eta && p.status === 'running' ? `, eta ${new Date(p.eta).toLocaleTimeString()}` : '';
    const starts = p.status === 'scheduled' && p.notBefore ? `, starts ${new Date(p.notBefore).toLocaleString()}` : '';
    const opensAt = p.pauseReason === 'window' ? p.window?.opensAt : undefined;
    const opens = opensAt ? `, resumes ${new Date(opensAt).toLocaleString()}` : '';
    const paused = p.pauseReason ? ` (${p.pauseReason})` : '';
    const line = `${progressBar(p)}${paused}${progressDetails(p)}${eta}${starts}${opens}`;
    if (line !== last) process.stdout.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    last = line;
    if (isEnded(p.status)) {
      if (tty) process.stdout.write('\n');
      if (p.error) console.log(`error: ${p.error}`);
      return p;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function needId(id: string | undefined, command: string): string {
  if (!id) throw new UsageError(`${command}: give the batch id`);
  return id;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const client = new ApiClient(
    process.env.LLMBATCH_URL ?? 'http://127.0.0.1:3000',
    process.env.LLMBATCH_API_KEY || undefined,
  );
  const path = (id: string | undefined, action = '') => `/batches/${encodeURIComponent(needId(id, command))}${action}`;
  switch (command) {
    case 'submit':
      return submit(client, arg, values);
    case 'watch':
      return (await watch(client, needId(arg, command))).status === 'completed' ? 0 : 1;
    case 'status':
      console.log(JSON.stringify(await client.json('GET', path(arg)), null, 2));
      return 0;
    case 'results': {
      const query = values.status ? `?status=${encodeURIComponent(values.status)}` : '';
      const stream = await client.results(needId(arg, command), query);
      await pipeline(stream, values.out ? createWriteStream(values.out) : process.stdout);
      return 0;
    }
    case 'list': {
      const query = new URLSearchParams({
        ...(values.status ? { status: values.status } : {}),
        ...(values.limit ? { limit: values.limit } : {}),
      }).toString();
      const { data } = await client.json<BatchListView>('GET', `/batches${query ? `?${query}` : ''}`);
      for (const b of data) console.log(`${b.id}  ${b.createdAt}  ${progressBar(b, 20)}`);
      return 0;
    }
    case 'cancel':
    case 'pause':
    case 'resume':
      console.log(JSON.stringify(await client.json('POST', path(arg, `/${command}`), {})));
      return 0;
    case 'retry': {
      const created = await client.json<RetriedBatchView>('POST', path(arg, '/retry'), {});

      console.log(`batch ${created.id}: ${created.total} dead letters of ${arg} retried`);
      return 0;
    }
    case 'schedule':
      return scheduleCommand(client, positionals.slice(1), values);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (
      err instanceof UsageError ||
      err instanceof ScheduleUsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`llmbatch: ${(err as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    console.error(
      `llmbatch: ${err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  },
);
