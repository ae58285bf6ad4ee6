/**
 * Hands request ids to their gatherer: signal-with-start, one call at a time per gatherer and process, each
 * carrying every id that arrived while the call before was in flight (a group commit). One signal per request
 * would cost the gatherer a workflow task each, and those run one at a time: under load the queue of tasks, not
 * max wait, would decide when a batch forms. Each id's promise settles once Temporal has accepted the signal
 * carrying it, so a request is answered only when it is durable.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { gatherSignal, gatherWorkflowId, type GatherSignal, type GatherWorkflowInput } from '../shared/gather';
// Types only: the API names a workflow by its exported name and never loads workflow code.
import type * as workflows from '../workflows';

/** Ids per signal at most: a signal stays a few KB however many requests arrive at once. */
const MAX_IDS_PER_SIGNAL = 500;
/** How long after max wait the tick is sent. */
const TICK_MARGIN_MS = 5;

interface Waiting {
  id: string;
  /** When its HTTP request arrived (ms). */
  arrivedAtMs: number;
  /** With the number of the signal that carried it (SignalSource.seq), or the reason it was not sent. */
  done: (seq: number, err?: Error) => void;
}

export class GatherSignals {
  /** This process among the API's replicas, in its signals: the gatherer tells each sender what it has received. */
  readonly sender = randomUUID();
  private seq = 0;
  private readonly queues = new Map<string, Waiting[]>();
  private readonly busy = new Set<string>();
  /** Per gatherer: the tick timer set, when it fires, and the latest max wait to tick at after it. */
  private readonly ticks = new Map<string, { at: number; next?: number }>();

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  /** Resolves once the gatherer of `input` has the signal carrying `id`, with that signal's number (`seq`). */
  send(input: GatherWorkflowInput, id: string, arrivedAtMs: number): Promise<number> {
    const workflowId = gatherWorkflowId(input.tenant, input.lane);
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(workflowId) ?? [];
      this.queues.set(workflowId, queue);
      queue.push({ id, arrivedAtMs, done: (seq, err) => (err === undefined ? resolve(seq) : reject(err)) });
      if (!this.busy.has(workflowId)) void this.drain(workflowId, input);
    });
  }

  /**
   * Nudges the gatherer with an empty signal once max wait has passed for what this process sent: a signal wakes
   * it at once, while its own durable timer may fire up to a second late. The timer stays the fallback (a process
   * that dies before its tick), so a lost tick costs time, never a request.
   */
  private tickAt(workflowId: string, dueMs: number): void {
    const tick = this.ticks.get(workflowId);
    if (tick) {
      if (dueMs > tick.at) tick.next = Math.max(tick.next ?? 0, dueMs);
      return;
    }
    this.ticks.set(workflowId, { at: dueMs });
    // A few ms past the due time, so that the task the tick starts finds the oldest request due.
    setTimeout(() => this.tick(workflowId), Math.max(0, dueMs - Date.now()) + TICK_MARGIN_MS).unref();
  }

  private tick(workflowId: string): void {
    const next = this.ticks.get(workflowId)?.next;
    this.ticks.delete(workflowId);
    void this.client.workflow
      .getHandle(workflowId)
      .signal(gatherSignal, { ids: [], arrivedAtMs: Date.now() })
      .catch(() => undefined); // ended (nothing pending) or unreachable: the gatherer's timer still fires
    if (next !== undefined) this.tickAt(workflowId, next);
  }

  private async drain(workflowId: string, input: GatherWorkflowInput): Promise<void> {
    this.busy.add(workflowId);
    try {
      for (let queue = this.queues.get(workflowId); queue?.length; queue = this.queues.get(workflowId)) {
        const sending = queue.splice(0, MAX_IDS_PER_SIGNAL);
        try {
          const arrivedAtMs = Math.min(...sending.map((w) => w.arrivedAtMs));
          const from = { sender: this.sender, seq: ++this.seq };
          await this.client.workflow.signalWithStart<typeof workflows.gatherWorkflow, [GatherSignal]>(
            'gatherWorkflow',
            {
              workflowId,
              taskQueue: this.config.temporal.taskQueue,
              args: [input],
              signal: gatherSignal,
              signalArgs: [{ ids: sending.map((w) => w.id), arrivedAtMs, from }],
              staticSummary: `single requests of tenant ${input.tenant} on lane ${input.lane}, gathered into batches`,
            },
          );
          for (const w of sending) w.done(from.seq);
          this.tickAt(workflowId, arrivedAtMs + this.config.gather.maxWaitMs);
        } catch (err) {
          const failure = err instanceof Error ? err : new Error(`signal-with-start failed: ${String(err)}`);
          for (const w of sending) w.done(0, failure);
        }
      }
    } finally {
      this.busy.delete(workflowId);
      this.queues.delete(workflowId);
    }
  }
}
