/**
 * Backpressure for POST /requests: past LLMBATCH_GATHER_MAX_PENDING requests of a tenant not yet in a batch, 429
 * with Retry-After. The count is the tenant's gatherers' own (a query to each, on every lane), so it holds across
 * API replicas; each process reads it at most every REFRESH_MS and adds the requests it admitted that the read
 * does not show: those whose signal the gatherer had not received (PendingCount.received). Requests pile up
 * there when the tenant's batches cannot start (its concurrent-batch quota is full), which is what this protects.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Response } from 'express';
import type { Config, Tenant } from '../config';
import { DEFAULT_GATHER_LANE, gatherWorkflowId, pendingQuery, type PendingCount } from '../shared/gather';
import { HttpError } from './httpError';

const REFRESH_MS = 250;

interface Count {
  readAt: number;
  pending: number;
}

/** A request this process admitted: counted here until its gatherer says it has received the signal carrying it. */
export interface Admitted {
  tenant: string;
  gatherer: string;
  /** The number of the signal that carried it (GatherSignals), once sent. */
  seq?: number;
}

export class PendingRequests {
  private readonly counts = new Map<string, Count>();
  private readonly reads = new Map<string, Promise<Count>>();
  /** Per tenant: the requests this process admitted that a read of the gatherers may not show yet. */
  private readonly unseen = new Map<string, Set<Admitted>>();
  private readonly lanes: string[];

  /** `sender`: this process's id in its signals (GatherSignals.sender). */
  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly sender: string,
  ) {
    this.lanes = [DEFAULT_GATHER_LANE, ...config.lanes.map((l) => l.name ?? l.taskQueue)];
  }

  /**
   * Refuses the request (429, Retry-After) when the tenant has its limit of requests pending; else counts it until
   * the gatherers' own count shows it (call `signalled` once its signal is accepted, `release` if it never is).
   */
  async admit(tenant: Tenant, gatherer: string, res: Response): Promise<Admitted> {
    const max = this.config.gather.maxPending;
    const count = await this.count(tenant.id);
    if (count.pending < max) {
      // Counted now, not once its signal is sent: requests checked at the same moment cannot all take the last place.
      count.pending += 1;
      const admitted: Admitted = { tenant: tenant.id, gatherer };
      const unseen = this.unseen.get(tenant.id) ?? new Set();
      this.unseen.set(tenant.id, unseen.add(admitted));
      return admitted;
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

  /** Its signal, number `seq`, is in the gatherer's history: counted here until the gatherer has received it. */
  signalled(admitted: Admitted, seq: number): void {
    admitted.seq = seq;
  }

  /** Never signalled (its body or signal failed): no longer counted. */
  release(admitted: Admitted): void {
    this.unseen.get(admitted.tenant)?.delete(admitted);
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
    const gatherers = this.lanes.map((lane) => gatherWorkflowId(tenant, lane));
    const counts = await Promise.all(gatherers.map((id) => this.pendingOf(id)));
    const received = new Map(gatherers.map((id, i) => [id, counts[i]!.received[this.sender] ?? 0]));
    const unseen = this.unseen.get(tenant) ?? new Set<Admitted>();
    // Received by its gatherer: in what it answered, and in every later read.
    for (const a of unseen) if (a.seq !== undefined && a.seq <= (received.get(a.gatherer) ?? 0)) unseen.delete(a);
    const count = { readAt, pending: counts.reduce((sum, c) => sum + c.pending, 0) + unseen.size };
    this.counts.set(tenant, count);
    return count;
  }

  private async pendingOf(workflowId: string): Promise<PendingCount> {
    try {
      return await this.client.workflow.getHandle(workflowId).query(pendingQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { pending: 0, received: {} };
      // Unknown (Temporal or the workers unreachable): let it through; the signal-with-start says so if it fails.
      return { pending: 0, received: {} };
    }
  }
}
