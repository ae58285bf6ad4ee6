/**
 * A batch's plan, decided once: its mode and why, the workflow's task queue, the rate-limit lane, the
 * price and the limits it runs with. createBatch checks what needs no line before anything is stored
 * (`checkBeforeStoring`), then plans once the lines are counted (`planBatch`); the owner record, /v1's
 * record and the workflow start all read that one plan. Both APIs and retries create through it.
 */
import type { Config, ConfiguredLane } from '../config';
import {
  nativeTaskQueue,
  NOT_BEFORE_MAX_DAYS,
  type BatchLine,
  type BatchWorkflowInput,
  type CreateBatchRequest,
  type LaneRef,
  type ModelPrice,
} from '../shared/contracts';
import type { NativeBatchInput } from '../shared/native';
import { HttpError } from './httpError';
import { chooseMode, refuseImpossibleMode, type Route } from './routing';
import { outputSchemas } from './outputSchemas';
import type { Pipeline } from '../shared/pipelines';
import { requestedSchema } from '../shared/structuredOutput';

/** Why pipelines are realtime: said in every pipeline's modeReason. */
export const PIPELINE_MODE_REASON = 'pipelines run in realtime mode: each step is sent once the step before answered';

/** Whose batch it is (the fairness key), where its events go, and the API it came through. */
export interface BatchOwner {
  tenant: string;
  webhookUrl?: string;
  api?: 'project' | 'v1';
}

/** What planning needs of the stored lines: their count and one line per model seen (at most two). */
export interface CountedLines {
  total: number;
  representatives: readonly BatchLine[];
}

/** What the store decides, not the plan: the batch's id and how its lines were chunked. */
type StoredInput = 'batchId' | 'total' | 'chunkCount' | 'chunkSize';

/** What the Web UI shows of the batch's lines (search attribute LlmbatchModel, the summary): `mixed` if several. */
export interface PlanLabels {
  model: string;
  endpoint: string;
}

/** The workflow to start and its input, all but what the store decides. */
export type BatchPlan = { modeReason: string | null; taskQueue: string; labels: PlanLabels } & (
  | { mode: 'realtime'; input: Omit<BatchWorkflowInput, StoredInput> }
  | { mode: 'native'; input: Omit<NativeBatchInput, StoredInput> }
);

/**
 * The refusals that need no line (a deadline passed, native without a Batch API, a lane no one
 * configured), made before anything is stored. Returns the lane the batch names, if it names one:
 * every line is checked against it as it streams in.
 */
export function checkBeforeStoring(
  request: CreateBatchRequest,
  config: Config,
  nowMs: number,
): ConfiguredLane | undefined {
  refuseImpossibleMode(request.options?.mode, request.options?.deadline, config.native, nowMs);
  notBeforeMs(request, nowMs);
  refuseNativeWindow(request, config);
  const schema = request.options?.outputSchema;
  const problem = schema && outputSchemas.problem(schema);
  if (problem) {
    const reason = `options.outputSchema: not a valid JSON Schema (draft 2020-12): ${problem}`;
    throw new HttpError(400, `invalid batch: ${reason}`, undefined, 'invalid_output_schema');
  }
  const name = request.options?.lane;
  return name === undefined ? undefined : namedLane(name, config.lanes);
}

/** The plan of a batch whose lines have all been checked and counted. */
export function planBatch(
  request: CreateBatchRequest,
  lines: CountedLines,
  owner: BatchOwner,
  config: Config,
  nowMs: number,
  /** Single requests gathered into a batch (POST /requests): its chunks run on the unlimited queue (chunkTaskQueue). */
  gathered = false,
): BatchPlan {
  const { options, priority } = request;
  const route = routeOf(request, lines, config, nowMs);
  const price = priceOf(lines.representatives, config.prices);
  const taskQueue = config.temporal.taskQueue;
  const maxChunksInFlight = options?.maxChunksInFlight ?? config.batch.maxChunksInFlight;
  const { tenant, webhookUrl } = owner;
  const labels = labelsOf(lines.representatives);
  if (route.mode === 'native') {
    const modeReason = nativeModeReason(route.reason, request, lines.representatives);
    const input: Omit<NativeBatchInput, StoredInput> = {
      limits: config.native.limits,
      poll: { initialMs: config.native.poll.initialMs, maxMs: config.native.poll.maxMs },
      expiryPolicy: options?.expiryPolicy,
      priority,
      tenant,
      webhookUrl,
      activityTaskQueue: nativeTaskQueue(taskQueue),
      modeReason,
      deadlineMs: route.deadlineMs,
      notBeforeMs: notBeforeMs(request, nowMs),
      realtimeReserveMs: config.native.realtimeReserveMs,
      price,
      // The fallback's settings, should the provider's batches miss the deadline or expire.
      // Structured outputs: answers invalid against their schema are asked again and repaired there too.
      realtime: {
        chunkSize: config.batch.chunkSize,
        maxChunksInFlight,
        maxAttempts: options?.maxAttempts ?? 5,
        repairAttempts: options?.repairAttempts,
      },
    };
    return { mode: 'native', modeReason, taskQueue, labels, input };
  }
  const input: Omit<BatchWorkflowInput, StoredInput> = {
    maxChunksInFlight,
    maxAttempts: options?.maxAttempts,
    priority,
    tenant,
    webhookUrl,
    budgetUsd: options?.budgetUsd,
    lane: laneFor(lines.representatives, config.lanes, options?.lane),
    activityTaskQueue: nativeTaskQueue(taskQueue),
    chunkTaskQueue: gathered ? nativeTaskQueue(taskQueue) : undefined,
    modeReason: route.reason ?? undefined,
    price,
    cache: options?.cache,
    repairAttempts: options?.repairAttempts,
    notBeforeMs: notBeforeMs(request, nowMs),
    window: options?.window,
    // A /v1 batch's end is final (OpenAI's Batch object; its output file's size is kept once counted).
    retryGraceMs: owner.api === 'v1' || config.batch.retryGraceMs === 0 ? undefined : config.batch.retryGraceMs,
  };
  return { mode: 'realtime', modeReason: route.reason, taskQueue, labels, input };
}

const DAY_MS = 86_400_000;

/** Why auto runs a batch with a run window in realtime: said in its modeReason. */
export const WINDOW_MODE_REASON =
  'auto: a run window (options.window) decides when chunks run, and a provider batch runs in its own window';

/** The batch's mode: realtime for a run window (checkBeforeStoring refused native), else routing's choice. */
function routeOf(request: CreateBatchRequest, lines: CountedLines, config: Config, nowMs: number): Route {
  const { options } = request;
  if (options?.window) {
    const auto = (options.mode ?? config.native.defaultMode) === 'auto';
    return { mode: 'realtime', reason: auto ? WINDOW_MODE_REASON : null };
  }
  const mixedModels = new Set(lines.representatives.map((l) => l.body.model)).size > 1;
  return chooseMode(options?.mode, { total: lines.total, mixedModels }, options?.deadline, config.native, nowMs);
}

/** A run window paces realtime chunks; the provider's Batch API keeps its own hours: a 400 naming the option. */
function refuseNativeWindow(request: CreateBatchRequest, config: Config): void {
  const mode = request.options?.mode ?? config.native.defaultMode;
  if (request.options?.window === undefined || mode !== 'native') return;
  const reason = 'options.window: a run window applies to realtime mode; a native batch runs in the provider window';
  throw new HttpError(400, `invalid batch: ${reason}`, undefined, 'window_mode');
}

/**
 * options.notBefore as epoch ms (absent: start at once), or a 400 naming it: more than NOT_BEFORE_MAX_DAYS ahead,
 * or not before the batch's deadline. A time in the past is kept: the workflow starts at once.
 */
export function notBeforeMs(request: CreateBatchRequest, nowMs: number): number | undefined {
  const notBefore = request.options?.notBefore;
  if (notBefore === undefined) return undefined;
  const at = Date.parse(notBefore);
  const refuse = (why: string): never => {
    throw new HttpError(400, `invalid batch: options.notBefore: ${why}`, undefined, 'invalid_not_before');
  };
  if (at - nowMs > NOT_BEFORE_MAX_DAYS * DAY_MS) refuse(`${notBefore} is more than ${NOT_BEFORE_MAX_DAYS} days ahead`);
  const deadline = request.options?.deadline;
  if (deadline !== undefined && Date.parse(deadline) <= at)
    refuse(`${notBefore} is not before the deadline ${deadline}`);
  return at;
}

/** What native mode does with structured outputs, said in modeReason (after the route's reason, if any). */
export const NATIVE_STRUCTURED_REASON =
  'structured outputs are checked on collection; invalid answers are repaired in realtime';

/** The route's reason, and whether structured outputs are checked: the batch's outputSchema or a line's own. */
function nativeModeReason(reason: string | null, request: CreateBatchRequest, lines: readonly BatchLine[]) {
  const structured =
    request.options?.outputSchema !== undefined || lines.some((l) => requestedSchema(l.url, l.body) !== undefined);
  if (!structured) return reason;
  return reason ? `${reason}; ${NATIVE_STRUCTURED_REASON}` : NATIVE_STRUCTURED_REASON;
}

function labelsOf(lines: readonly BatchLine[]): PlanLabels {
  const models = new Set(lines.map((l) => (typeof l.body.model === 'string' ? l.body.model : 'unknown')));
  const endpoints = new Set(lines.map((l) => l.url));
  return {
    model: models.size === 1 ? [...models][0]! : 'mixed',
    endpoint: endpoints.size === 1 ? [...endpoints][0]! : 'mixed',
  };
}

/** The price of the batch's model, when every line uses the same one and it is in the price table. */
function priceOf(lines: readonly BatchLine[], prices: Config['prices']): ModelPrice | undefined {
  const model = lines[0]?.body.model;
  if (typeof model !== 'string' || !lines.every((l) => l.body.model === model)) return undefined;
  return prices[model];
}

const laneRef = (lane: ConfiguredLane): LaneRef => ({
  ...(lane.name === undefined ? {} : { name: lane.name }),
  endpoint: lane.endpoint,
  model: lane.model,
  taskQueue: lane.taskQueue,
});

/** The named lane, or a 400 naming the option (before anything is stored). */
function namedLane(name: string, lanes: readonly ConfiguredLane[]): ConfiguredLane {
  const lane = lanes.find((l) => l.name === name);
  if (!lane) {
    const reason = `options.lane: no lane named ${name} (lanes come from LLMBATCH_LANES)`;
    throw new HttpError(400, `invalid batch: ${reason}`, undefined, 'unknown_lane');
  }
  return lane;
}

/**
 * The lane a batch runs on: the one it names (its lines were checked against it as they streamed), or
 * else the first configured lane of the (endpoint, model) every line shares; undefined (the default
 * queue) for a mixed batch or one no lane matches. Exported for its unit test.
 */
export function laneFor(
  lines: readonly BatchLine[],
  lanes: readonly ConfiguredLane[],
  name?: string,
): LaneRef | undefined {
  if (name !== undefined) return laneRef(namedLane(name, lanes));
  const first = lines[0];
  if (!first) return undefined;
  const model = first.body.model;
  if (!lines.every((l) => l.url === first.url && l.body.model === model)) return undefined;
  const lane = lanes.find((l) => l.endpoint === first.url && l.model === model);
  return lane && laneRef(lane);
}

/** A pipeline's plan: realtime (said in its modeReason), labelled with its steps' models, its chunks running steps. */
export function pipelinePlan(plan: BatchPlan, pipeline: Pipeline): BatchPlan {
  if (plan.mode !== 'realtime') throw new Error('a pipeline is planned in realtime mode');
  const models = new Set(pipeline.steps.map((s) => s.model ?? String(s.body.model)));
  const endpoints = new Set(pipeline.steps.map((s) => s.endpoint));
  const labels = {
    model: models.size === 1 ? [...models][0]! : 'mixed',
    endpoint: endpoints.size === 1 ? [...endpoints][0]! : 'mixed',
  };
  const input = { ...plan.input, pipeline: true, modeReason: PIPELINE_MODE_REASON, lane: undefined, price: undefined };
  return { ...plan, labels, modeReason: PIPELINE_MODE_REASON, input };
}
