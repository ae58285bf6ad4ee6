/**
 * Creating a batch, for both APIs and retries: the tenant's quotas, the input into the store, its plan
 * (plan.ts), the owner record (written once, with the planned mode), then the workflow. Each step only
 * runs if the one before succeeded, so a refusal (quota, bad line) leaves nothing behind: the store
 * publishes an input only once it has all been written.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config, ConfiguredLane, Tenant } from '../config';
import type { ApiMetrics } from '../metrics/apiMetrics';
import { type BatchLine, type BatchMode, type CreateBatchRequest } from '../shared/contracts';
import { estimateTokens } from '../shared/tokens';
import type { SlotStore } from '../storage/slots';
import type { BatchManifest, BatchStore } from '../storage/types';
import { checkWebhookUrl, WebhookUrlError } from '../webhooks/ssrf';
import { LocalAdmission, SharedAdmission, type Admission, type EarlierBatch } from './admission';
import { HttpError } from './httpError';
import { OWNER_RECORD, type OwnerRecord } from './owner';
import { checkBeforeStoring, pipelinePlan, planBatch, type BatchPlan } from './plan';
import type { Pipeline } from '../shared/pipelines';
import { withCheckedSchema } from './outputSchemas';
import { startBatch, type StartedBatch } from './startBatch';

export interface NewBatch {
  batchId: string;
  tenant: Tenant;
  api: OwnerRecord['api'];
  /** Options, priority and the request-wide model; its `requests` are ignored (`lines` are the batch's). */
  request: CreateBatchRequest;
  lines: Iterable<NumberedLine> | AsyncIterable<NumberedLine>;
  /**
   * How errors name a line: `line 3` (files, NDJSON: 1-based, blank lines counted) or `requests.2`
   * (a JSON array: 0-based).
   */
  position: 'line' | 'index' | 'item';
  /** A pipeline (POST /pipelines): the lines are its items, whose bodies are the items themselves. */
  pipeline?: Pipeline;
  nowMs: number;
  retryOf?: string;
  webhookUrl?: string;
  /** Runs once the input is stored and planned, before the workflow starts (/v1 writes its own record here). */
  beforeStart?: (manifest: BatchManifest, plan: BatchPlan) => Promise<void>;
  /** The client's Idempotency-Key: a request repeating one already used gets that batch instead of a new one. */
  idempotencyKey?: string;
  /** The schedule whose run creates it: kept in its owner record and search attribute LlmbatchScheduleId. */
  scheduleId?: string;
  /** Single requests gathered by POST /requests: see BatchWorkflowInput.chunkTaskQueue. */
  gathered?: boolean;
}

/**
 * A new batch, or (`replayed`) the one an earlier request with the same Idempotency-Key created: its status is
 * then whatever the batch's is now (absent here: read the batch).
 */
export type CreatedBatch = Omit<StartedBatch, 'status'> & { replayed: boolean; status?: StartedBatch['status'] };

/** A request with where it came from: its line number in a file, or its index in a JSON array. */
export interface NumberedLine {
  at: number;
  request: BatchLine;
}

export class BatchCreator {
  private readonly admission: Admission;

  constructor(
    private readonly deps: {
      client: Client;
      store: BatchStore;
      config: Config;
      slots?: SlotStore;
      metrics?: ApiMetrics;
    },
  ) {
    this.admission = deps.slots
      ? new SharedAdmission({ slots: deps.slots, store: deps.store, client: deps.client })
      : new LocalAdmission(deps);
  }

  async create(batch: NewBatch): Promise<CreatedBatch> {
    const { store, config, client } = this.deps;
    const { tenant, idempotencyKey } = batch;
    const earlier = await this.admission.admit(tenant, batch.batchId, idempotencyKey);
    if (earlier) return replay(batch, earlier);
    let started = false;
    // Only a request with a key is ever compared: without one, hashing every line would be wasted work.
    const fingerprint = idempotencyKey === undefined ? undefined : new RequestFingerprint(batch);
    try {
      const checks = await this.checksFor(batch);
      const lines = checks.run(fingerprint ? fingerprint.over(batch.lines) : batch.lines);
      const chunkSize = batch.gathered ? config.gather.chunkSize : config.batch.chunkSize;
      const manifest = await store.putInput(batch.batchId, lines, chunkSize, {
        max: config.batch.chunkTokens,
        of: estimateTokens,
      });
      const counted = { total: manifest.total, representatives: checks.representatives() };
      const owner = { tenant: tenant.id, webhookUrl: batch.webhookUrl, api: batch.api };
      const planned = planBatch(batch.request, counted, owner, config, batch.nowMs, batch.gathered);
      const plan = batch.pipeline ? pipelinePlan(planned, batch.pipeline) : planned;
      const record: OwnerRecord = {
        tenant: tenant.id,
        createdAt: new Date(batch.nowMs).toISOString(),
        api: batch.api,
        total: manifest.total,
        mode: plan.mode,
        model: plan.labels.model,
        modeReason: plan.modeReason,
        retryOf: batch.retryOf,
        scheduleId: batch.scheduleId,
        webhookUrl: batch.webhookUrl,
        idempotencyKey,
        // Complete: putInput has read every line by now.
        requestDigest: fingerprint?.digest(),
      };
      await store.putRecord(batch.batchId, OWNER_RECORD, record);
      await batch.beforeStart?.(manifest, plan);
      const run = await startBatch(client, plan, manifest, batch.scheduleId);
      started = true;
      this.deps.metrics?.batchSubmitted(tenant.id, run.mode, run.total);
      return { ...run, replayed: false };
    } finally {
      await this.admission.settle(tenant, batch.batchId, idempotencyKey, started);
    }
  }

  /**
   * Every check `create` makes of the request and its lines, with nothing stored and no slot taken: POST
   * /schedules refuses an input its runs would refuse before the schedule exists. Returns the line count.
   */
  async check(batch: NewBatch): Promise<number> {
    const checks = await this.checksFor(batch);
    let total = 0;
    for await (const _line of checks.run(batch.lines)) total += 1;
    return total;
  }

  /** The checks made before anything is stored (the plan itself waits until the lines are counted), then per line. */
  private async checksFor(batch: NewBatch): Promise<LineChecks> {
    const { config } = this.deps;
    if (batch.webhookUrl !== undefined) await checkWebhook(batch.webhookUrl, config.webhooks.allow);
    const lane = checkBeforeStoring(batch.request, config, batch.nowMs);
    const mode = batch.request.options?.mode ?? config.native.defaultMode;
    return new LineChecks(batch, config.batch.defaultModel, mode, lane);
  }
}

/**
 * What makes two requests "the same" for Idempotency-Key: the API, the options, and every line as it
 * was sent (before a default model is filled in), hashed as they stream. A key reused with another
 * request is a client bug (Stripe answers it the same way): replaying the first batch would hide it.
 */
class RequestFingerprint {
  private readonly hash: Hash;

  constructor(batch: NewBatch) {
    const { requests: _lines, ...options } = batch.request;
    this.hash = createHash('sha256').update(
      JSON.stringify({ api: batch.api, options, retryOf: batch.retryOf, webhookUrl: batch.webhookUrl }),
    );
  }

  async *over(lines: Iterable<NumberedLine> | AsyncIterable<NumberedLine>): AsyncIterable<NumberedLine> {
    for await (const line of lines) {
      this.hash.update(`\n${JSON.stringify(line.request)}`);
      yield line;
    }
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** The earlier batch, if this request is the one that created it; 422 if the key came with another request. */
async function replay(batch: NewBatch, earlier: EarlierBatch): Promise<CreatedBatch> {
  const { owner, batchId } = earlier;
  if (owner.requestDigest !== undefined) {
    const fingerprint = new RequestFingerprint(batch);
    for await (const _line of fingerprint.over(batch.lines)); // read to the end: the whole request decides
    if (fingerprint.digest() !== owner.requestDigest) {
      throw new HttpError(
        422,
        `Idempotency-Key ${JSON.stringify(batch.idempotencyKey)} was already used with another request ` +
          `(batch ${batchId}); use a new key for a new batch.`,
        undefined,
        'idempotency_key_reused',
      );
    }
  }
  return { id: batchId, total: owner.total, mode: owner.mode, modeReason: owner.modeReason ?? null, replayed: true };
}

/**
 * Refuses a webhook URL that reaches a private, loopback or link-local address (unless allow-listed)
 * now, not a day of retries later.
 */
async function checkWebhook(url: string, allow: string[]): Promise<void> {
  try {
    await checkWebhookUrl(url, { allow });
  } catch (err) {
    const reason =
      err instanceof WebhookUrlError ? err.message : `its host could not be resolved (${(err as Error).message})`;
    throw new HttpError(400, `invalid batch: webhook url refused: ${reason}`, undefined, 'invalid_webhook_url');
  }
}

/**
 * The checks every line gets whichever way it came in, as it streams: the model (the line's, the
 * request's, or the configured default), the tenant's items-per-batch quota, and one model per batch
 * when it is to run native. The first failure is a 400 naming the line.
 */
class LineChecks {
  private count = 0;
  private at = 0;
  private first: BatchLine | undefined;
  private other: BatchLine | undefined;
  private readonly defaultModel: string | undefined;

  constructor(
    private readonly batch: NewBatch,
    configDefault: string | undefined,
    /** The mode asked for, or the configured default. */
    private readonly mode: BatchMode,
    /** The lane the batch names: every line must use its endpoint and model. */
    private readonly lane?: ConfiguredLane,
  ) {
    this.defaultModel = batch.request.model ?? configDefault;
  }

  async *run(lines: Iterable<NumberedLine> | AsyncIterable<NumberedLine>): AsyncIterable<BatchLine> {
    const max = this.batch.tenant.quotas.itemsPerBatch;
    for await (const { at, request: line } of lines) {
      this.count += 1;
      this.at = at;
      if (this.count > max)
        this.fail('quota_exceeded', `the batch has more than ${max} requests, the tenant's limit (items per batch)`);
      // A pipeline's items are not requests: its steps were checked whole (pipelines.ts).
      if (this.batch.pipeline) {
        yield line;
        continue;
      }
      if (typeof line.body.model !== 'string' || line.body.model === '') {
        if (this.defaultModel === undefined)
          this.fail(
            'missing_model',
            'body.model is missing, and there is no default model ' +
              '(give "model" with the batch, or set LLMBATCH_DEFAULT_MODEL)',
          );
        line.body.model = this.defaultModel;
      }
      if (this.lane && (line.url !== this.lane.endpoint || line.body.model !== this.lane.model)) {
        this.fail(
          'lane_mismatch',
          `${line.url} ${String(line.body.model)} is not what lane ${this.lane.name} is for ` +
            `(${this.lane.endpoint} ${this.lane.model})`,
        );
      }
      const schemaProblem = withCheckedSchema(line, this.batch.request.options?.outputSchema);
      if (schemaProblem) this.fail('invalid_output_schema', schemaProblem);
      if (!this.first) this.first = line;
      else if (!this.other && line.body.model !== this.first.body.model) {
        this.other = line;
        if (this.mode === 'native') {
          this.fail(
            'mixed_models',
            `model ${JSON.stringify(line.body.model)} differs from ${JSON.stringify(this.first.body.model)}: ` +
              'a native batch holds one model (use mode realtime or auto)',
          );
        }
      }
      yield line;
    }
  }

  /** One line per model seen (at most two): all planBatch needs for the lane, the price and auto's choice. */
  representatives(): BatchLine[] {
    return [this.first, this.other].filter((l): l is BatchLine => l !== undefined);
  }

  private fail(code: string, reason: string): never {
    const where = { line: `line ${this.at}`, index: `requests.${this.at}`, item: `items.${this.at}` }[
      this.batch.position
    ];
    throw new HttpError(400, `invalid batch: ${where}: ${reason}`, { [this.batch.position]: this.at, code }, code);
  }
}
