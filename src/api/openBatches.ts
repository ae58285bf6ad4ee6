/**
 * The open batches as the API's /metrics sees them: Temporal visibility lists the running batch workflows
 * (realtime and native, top-level only: a native batch's realtime fallback is a child batchWorkflow), and
 * each one's progress query gives its counts. The tenant is the LlmbatchTenant search attribute once the
 * workflow sets it, else the batch's owner record (read once per batch: it never changes). A realtime batch is
 * also described, for the chunk activities Temporal has scheduled but no worker has started (queue delay).
 */
import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { temporal, type google } from '@temporalio/proto';
import { Sema } from 'async-sema';
import type { Config } from '../config';
import type { BatchSnapshot, OpenBatch } from '../metrics/apiMetrics';
import { progressQuery } from '../shared/contracts';
import { SearchAttributeKeys } from '../shared/searchAttributes';
import { ENDED_STATUSES } from '../shared/statuses';
import type { BatchStore } from '../storage/types';
import { OWNER_RECORD, OwnerRecordSchema } from './owner';

const BATCH_ID_PREFIX = 'batch-';
const ENDED: ReadonlySet<string> = ENDED_STATUSES;
/** Progress queries at once: a scrape must not burst hundreds of queries at the workers. */
const QUERY_CONCURRENCY = 8;
/** A progress query's longest wait (no worker answering, say): the batch is then counted without its progress. */
const QUERY_TIMEOUT_MS = 3_000;

export class OpenBatches {
  /** batch id → tenant, for the batches open at the last collection. */
  private readonly tenants = new Map<string, string>();

  constructor(private readonly deps: { client: Client; store: BatchStore; config: Config }) {}

  async list(max: number): Promise<BatchSnapshot> {
    const { client, config } = this.deps;
    const query =
      `ExecutionStatus = 'Running' AND WorkflowType IN ('batchWorkflow', 'nativeBatchWorkflow') ` +
      `AND TaskQueue = '${config.temporal.taskQueue}' AND ParentWorkflowId IS NULL`;
    const infos: WorkflowExecutionInfo[] = [];
    let truncated = false;
    for await (const info of client.workflow.list({ query, pageSize: Math.min(max + 1, 1000) })) {
      if (infos.length === max) {
        truncated = true;
        break;
      }
      // A completed batch waiting out its retry grace (LLMBATCH_RETRY_GRACE) is open, but not running, paused or
      // scheduled.
      const status = info.typedSearchAttributes.get(SearchAttributeKeys.status);
      if (info.workflowId.startsWith(BATCH_ID_PREFIX) && !ENDED.has(status ?? '')) infos.push(info);
    }
    const sema = new Sema(QUERY_CONCURRENCY);
    const batches = await Promise.all(
      infos.map(async (info) => {
        await sema.acquire();
        try {
          return await this.read(info);
        } finally {
          sema.release();
        }
      }),
    );
    const open = new Set(batches.map((b) => b.id));
    for (const id of this.tenants.keys()) if (!open.has(id)) this.tenants.delete(id);
    return { batches, truncated };
  }

  private async read(info: WorkflowExecutionInfo): Promise<OpenBatch> {
    const { client } = this.deps;
    const id = info.workflowId.slice(BATCH_ID_PREFIX.length);
    const mode = info.type === 'nativeBatchWorkflow' ? 'native' : 'realtime';
    const handle = client.workflow.getHandle(info.workflowId, info.runId);
    const deadline = Date.now() + QUERY_TIMEOUT_MS;
    const [tenant, p, queuedSinceMs] = await Promise.all([
      this.tenantOf(id, info.typedSearchAttributes.get(SearchAttributeKeys.tenant)),
      client.withDeadline(deadline, () => handle.query(progressQuery)).catch(() => undefined),
      mode === 'realtime' ? client.withDeadline(deadline, () => queuedSince(handle)).catch(() => undefined) : undefined,
    ]);
    if (!p) return { id, tenant, mode, status: 'running' };
    return {
      id,
      tenant,
      mode: p.mode,
      // A workflow reports an ended status for a moment before it closes: it is still open, so still running.
      status: p.status === 'paused' || p.status === 'scheduled' ? p.status : 'running',
      progress: {
        pending: p.pending,
        done: p.succeeded + p.failed,
        itemsInFlight: p.itemsInFlight,
        startedAtMs: Date.parse(p.startedAt),
        queuedSinceMs,
        pausedForBudget: p.pauseReason === 'budget',
      },
    };
  }

  private async tenantOf(id: string, fromSearchAttribute: string | undefined): Promise<string> {
    if (fromSearchAttribute !== undefined) return fromSearchAttribute;
    const known = this.tenants.get(id);
    if (known !== undefined) return known;
    const owner = OwnerRecordSchema.safeParse(await this.deps.store.getRecord(id, OWNER_RECORD).catch(() => undefined));
    // A batch without an owner record was started outside the API (a test, the CLI against Temporal).
    const tenant = owner.success ? owner.data.tenant : 'unknown';
    this.tenants.set(id, tenant);
    return tenant;
  }
}

const SCHEDULED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;

/**
 * When the longest-waiting of the workflow's activities that are scheduled but not started began to wait
 * (undefined: none waits). An activity backing off before its next attempt is not waiting for a worker.
 */
async function queuedSince(handle: WorkflowHandle): Promise<number | undefined> {
  const nowMs = Date.now();
  let oldest: number | undefined;
  for (const a of (await handle.describe()).raw.pendingActivities ?? []) {
    if (a.state !== SCHEDULED) continue;
    const next = timestampMs(a.nextAttemptScheduleTime);
    if (next !== undefined && next > nowMs) continue;
    const since = Math.max(timestampMs(a.scheduledTime) ?? nowMs, next ?? 0);
    oldest = Math.min(oldest ?? since, since);
  }
  return oldest;
}

function timestampMs(ts: google.protobuf.ITimestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  const seconds = ts.seconds ?? 0;
  return (typeof seconds === 'number' ? seconds : seconds.toNumber()) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}
