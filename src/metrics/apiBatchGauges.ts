/**
 * The API's queue gauges, computed at scrape time from the open batches Temporal holds (src/api/openBatches.ts
 * reads them): batches by status, items pending (queue length), the oldest pending chunk's age (queue delay),
 * the longest a running batch has made no progress, and budget pauses. A batch id is only ever a key of the
 * stall tracker here, never a label.
 */
import { Gauge, type Registry } from 'prom-client';
import type { BoundedLabel } from './labels';

/** Open batches read per collection: each costs a progress query, so this bounds a scrape's load on Temporal. */
export const MAX_BATCHES_PER_SCRAPE = 500;

/** One open (running, paused or scheduled) batch, as its workflow's progress query answered. */
export interface OpenBatch {
  /** Tracks the batch from one collection to the next; never a label. */
  id: string;
  tenant: string;
  mode: 'realtime' | 'native';
  /** `scheduled`: waiting for its notBefore time; its items are not counted as pending (not queued yet). */
  status: 'running' | 'paused' | 'scheduled';
  /** Its progress, when its workflow answered the query (a batch whose workers are all down may not). */
  progress?: {
    pending: number;
    /** Items finished (succeeded + failed): a change means the batch moved. */
    done: number;
    /** Items in the chunks being processed: pending beyond these sits in chunks not yet started. */
    itemsInFlight: number;
    startedAtMs: number;
    /** Since when its longest-waiting chunk scheduled in Temporal has waited for a worker (undefined: none waits). */
    queuedSinceMs?: number;
    pausedForBudget: boolean;
  };
}

export interface BatchSnapshot {
  batches: OpenBatch[];
  /** More batches were open than a collection reads (MAX_BATCHES_PER_SCRAPE): the gauges cover the first ones. */
  truncated: boolean;
}

interface Seen {
  done: number;
  status: OpenBatch['status'];
  /** When its done count last changed, as far as this process has seen. */
  sinceMs: number;
}

export class BatchGauges {
  private readonly batches: Gauge;
  private readonly pending: Gauge;
  private readonly oldestPending: Gauge;
  private readonly stalled: Gauge;
  private readonly budgetPaused: Gauge;
  private readonly truncated: Gauge;
  private readonly seen = new Map<string, Seen>();

  constructor(
    registry: Registry,
    private readonly tenants: BoundedLabel,
  ) {
    const registers = [registry];
    this.batches = new Gauge({
      name: 'llmbatch_batches',
      help: 'Open batch workflows (running, paused or scheduled) by tenant, mode and status.',
      labelNames: ['tenant', 'mode', 'status'],
      registers,
    });
    this.pending = new Gauge({
      name: 'llmbatch_items_pending',
      help: 'Queue length: items not yet finished over running and paused batches.',
      labelNames: ['tenant', 'mode'],
      registers,
    });
    this.oldestPending = new Gauge({
      name: 'llmbatch_oldest_pending_chunk_age_seconds',
      help: 'Queue delay: the longest a chunk of a running realtime batch has waited to start.',
      registers,
    });
    this.stalled = new Gauge({
      name: 'llmbatch_batch_stalled_seconds',
      help: "The longest a running realtime batch has gone without a finished item, as this API's scrapes saw it.",
      registers,
    });
    this.budgetPaused = new Gauge({
      name: 'llmbatch_batches_paused_for_budget',
      help: 'Batches paused because they reached their budgetUsd, by tenant.',
      labelNames: ['tenant'],
      registers,
    });
    this.truncated = new Gauge({
      name: 'llmbatch_metrics_batches_truncated',
      help: `1 when more than ${MAX_BATCHES_PER_SCRAPE} batches were open: the batch gauges cover only those read.`,
      registers,
    });
  }

  update({ batches, truncated }: BatchSnapshot, nowMs: number): void {
    for (const g of [this.batches, this.pending, this.budgetPaused]) g.reset();
    this.truncated.set(truncated ? 1 : 0);
    let oldest = 0;
    let stalled = 0;
    const open = new Set<string>();
    for (const b of batches) {
      open.add(b.id);
      const tenant = this.tenants.of(b.tenant);
      this.batches.inc({ tenant, mode: b.mode, status: b.status });
      const p = b.progress;
      // A scheduled batch waits for its notBefore time: its items are not in the queue yet.
      if (!p || b.status === 'scheduled') continue;
      this.pending.inc({ tenant, mode: b.mode }, p.pending);
      if (p.pausedForBudget && b.status === 'paused') this.budgetPaused.inc({ tenant });
      // Native batches wait on the provider's window, which is not our queue: they count as pending only.
      if (b.mode !== 'realtime' || b.status !== 'running') {
        this.seen.set(b.id, { done: p.done, status: b.status, sinceMs: nowMs });
        continue;
      }
      // Chunks beyond the batch's window (pending past those in flight) have waited since the batch started;
      // those scheduled in Temporal but not started, since they were scheduled.
      if (p.pending > p.itemsInFlight) oldest = Math.max(oldest, (nowMs - p.startedAtMs) / 1000);
      if (p.queuedSinceMs !== undefined) oldest = Math.max(oldest, (nowMs - p.queuedSinceMs) / 1000);
      const since = this.progressSince(b.id, p.done, nowMs, p.startedAtMs);
      stalled = Math.max(stalled, (nowMs - since) / 1000);
    }
    for (const id of this.seen.keys()) if (!open.has(id)) this.seen.delete(id);
    this.oldestPending.set(oldest);
    this.stalled.set(stalled);
  }

  /** When a running batch last moved: a new done count, a resume, or (first seen with nothing done) its start. */
  private progressSince(id: string, done: number, nowMs: number, startedAtMs: number): number {
    const before = this.seen.get(id);
    let sinceMs = before?.sinceMs ?? (done === 0 ? startedAtMs : nowMs);
    if (before && (before.done !== done || before.status !== 'running')) sinceMs = nowMs;
    this.seen.set(id, { done, status: 'running', sinceMs });
    return sinceMs;
  }
}
