/**
 * Backpressure for POST /requests: past LLMBATCH_GATHER_MAX_PENDING requests of a tenant not yet in a batch, 429
 * with Retry-After. The count is the tenant's gatherers' own (a query to each, on every lane), so it holds across
 * API replicas; each process reads it at most every REFRESH_MS and adds what it accepted since. Requests pile up
 * there when the tenant's batches cannot start (its concurrent-batch quota is full), which is what this protects.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Response } from 'express';
import type { Config, Tenant } from '../config';
import { DEFAULT_GATHER_LANE, gatherWorkflowId, pendingQuery } from '../shared/gather';
import { HttpError } from './httpError';

const REFRESH_MS = 250;
/**
 * A query may not see a signal Temporal accepted moments before (its workflow task has yet to run): requests this
 * process accepted this long before a read are added to what it reads. Counting some twice errs on the safe side.
 */
const SIGNAL_LAG_MS = 100;

interface Count {
  readAt: number;
  pending: number;
}

export class PendingRequests {
  private readonly counts = new Map<string, Count>();
  private readonly reads = new Map<string, Promise<Count>>();
  /** Per tenant: when this process accepted its recent requests (ms). */
  private readonly recent = new Map<string, number[]>();
  private readonly lanes: string[];

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {
    this.lanes = [DEFAULT_GATHER_LANE, ...config.lanes.map((l) => l.name ?? l.taskQueue)];
  }

  /** Refuses the request (429, Retry-After) when the tenant has its limit of requests pending. */
  async admit(tenant: Tenant, res: Response): Promise<void> {
    const max = this.config.gather.maxPending;
    const count = await this.count(tenant.id);
    if (count.pending < max) {
      // Counted now, not once its signal is sent: requests checked at the same moment cannot all take the last place.
      this.counted(tenant.id, count);
      return;
    }
    // A batch forms within max wait once there is room: a client that comes back then may find some.
    res.set('Retry-After', String(Math.max(1, Math.ceil(this.config.gather.maxWaitMs / 1000))));
    throw new HttpError(
      429,
      `too many pending requests: tenant ${tenant.id} has ${count.pending} requests not yet in a batch, ` +
        `its limit (LLMBATCH_GATHER_MAX_PENDING) is ${max}`,
      undefined,
      'too_many_pending_requests',
    );
  }

  /** One more request admitted: counted until the next read, and by it too if it was admitted just before. */
  private counted(tenant: string, count: Count): void {
    const now = Date.now();
    const times = (this.recent.get(tenant) ?? []).filter((t) => t >= now - SIGNAL_LAG_MS);
    times.push(now);
    this.recent.set(tenant, times);
    count.pending += 1;
  }

  private async count(tenant: string): Promise<Count> {
    const known = this.counts.get(tenant);
    if (known && Date.now() - known.readAt < REFRESH_MS) return known;
    let read = this.reads.get(tenant);
    if (!read) {
      read = this.read(tenant).finally(() => this.reads.delete(tenant));
      this.reads.set(tenant, read);
    }
    return read;
  }

  private async read(tenant: string): Promise<Count> {
    const readAt = Date.now();
    const each = await Promise.all(this.lanes.map((lane) => this.pendingOf(gatherWorkflowId(tenant, lane))));
    const unseen = (this.recent.get(tenant) ?? []).filter((t) => t >= readAt - SIGNAL_LAG_MS).length;
    const count = { readAt, pending: each.reduce((a, b) => a + b, 0) + unseen };
    this.counts.set(tenant, count);
    return count;
  }

  private async pendingOf(workflowId: string): Promise<number> {
    try {
      return await this.client.workflow.getHandle(workflowId).query(pendingQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 0;
      // Unknown (Temporal or the workers unreachable): let it through; the signal-with-start says so if it fails.
      return 0;
    }
  }
}
