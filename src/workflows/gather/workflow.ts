/**
 * gatherWorkflow: one per tenant and lane (id `gather-<tenant>-<lane>`), started or signalled by the API with
 * signal-with-start, so any number of API replicas feed the same one. It holds the ids of requests not yet in a
 * batch and forms a batch at `maxItems` of them, or once the oldest has waited `maxWaitMs`, whichever comes first.
 * A flush is an activity that makes an ordinary batch of them (its id chosen here, so a retry makes no second one)
 * and starts it; flushes run while more requests arrive. History stays short: continue-as-new carries the ids.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import {
  gatherSignal,
  pendingQuery,
  type GatherWorkflowInput,
  type PendingRequest,
  type SignalSource,
} from '../../shared/gather';
import { flushActivity } from './activityProxies';

/** Signals per run before continuing as new, well under the server's per-run signal limit (10,000 by default). */
const SIGNALS_PER_RUN = 4_000;

/** A batch id as the API makes them (`batch_` + 12 hex of ms + 12 hex), from workflow time and workflow uuid4. */
const newBatchId = (): string =>
  `batch_${Date.now().toString(16).padStart(12, '0')}${uuid4().replace(/-/g, '').slice(0, 12)}`;

/** API processes remembered, the latest first to stay: one restarted is a new sender, and the old one falls out. */
const SENDERS = 64;

/** The last signal number received from each API process (see PendingCount). */
class Received {
  private readonly last: Map<string, number>;

  constructor(carried: Record<string, number> = {}) {
    this.last = new Map(Object.entries(carried));
  }

  note({ sender, seq }: SignalSource): void {
    const seen = Math.max(seq, this.last.get(sender) ?? 0);
    // Re-inserted, so the senders heard from least recently are the first to go.
    this.last.delete(sender);
    this.last.set(sender, seen);
    if (this.last.size > SENDERS) this.last.delete(this.last.keys().next().value as string);
  }

  bySender(): Record<string, number> {
    return Object.fromEntries(this.last);
  }
}

export async function gatherWorkflow(input: GatherWorkflowInput): Promise<void> {
  const flushGathered = flushActivity(input.activityTaskQueue);
  const pending: PendingRequest[] = [...(input.carry?.pending ?? [])];
  const seen = new Set(pending.map((p) => p.id));
  let flushes = input.carry?.flushes ?? 0;
  let inFlight = 0;
  /** Requests in flushes not yet done: still pending for backpressure, since their batch may be waiting for room. */
  let flushing = 0;
  let signals = 0;
  const received = new Received(input.carry?.received);
  setHandler(gatherSignal, ({ ids, arrivedAtMs, from }) => {
    signals += 1;
    if (from) received.note(from);
    // From when the API received the oldest of them (part of the signal, so replay-safe), never later than this
    // task: a clock skew between hosts can only make a batch form sooner.
    const atMs = Math.min(arrivedAtMs, Date.now());
    for (const id of ids) {
      // A signal repeated by a client's retry is one request.
      if (seen.has(id)) continue;
      seen.add(id);
      pending.push({ id, atMs });
    }
  });
  setHandler(pendingQuery, () => ({ pending: pending.length + flushing, received: received.bySender() }));

  const flush = (): void => {
    const requestIds = pending.splice(0, input.maxItems).map((p) => p.id);
    flushes += 1;
    inFlight += 1;
    flushing += requestIds.length;
    const batchId = newBatchId();
    flushGathered({ batchId, tenant: input.tenant, quotas: input.quotas, lane: input.lane, requestIds })
      .catch((err: unknown) =>
        // Only a refusal of the lines ends here (the API checked them, so a bug): the activity retries all else.
        log.error('gathered requests refused', { batchId, requests: requestIds.length, err: String(err) }),
      )
      .finally(() => {
        inFlight -= 1;
        flushing -= requestIds.length;
      });
  };

  for (;;) {
    if (pending.length === 0 && !(await condition(() => pending.length > 0, input.idleMs))) {
      // Idle: end, once the last flushes are done; the next request starts a new run under the same id.
      await condition(() => inFlight === 0 && allHandlersFinished());
      if (pending.length === 0) return;
    }
    const dueAt = pending[0]!.atMs + input.maxWaitMs;
    // Checked again at every signal too, not only when the timer fires: a server's timers may fire up to a second
    // late (the dev server's do), while signals, and the API's tick at max wait, arrive on time.
    const ready = (): boolean => pending.length >= input.maxItems || Date.now() >= dueAt;
    if (!ready()) await condition(ready, dueAt - Date.now());
    flush();
    if (signals >= SIGNALS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(() => inFlight === 0 && allHandlersFinished());
      log.info('gatherer continued as new', { tenant: input.tenant, lane: input.lane, flushes });
      const carry = { pending: [...pending], flushes, received: received.bySender() };
      return continueAsNew<typeof gatherWorkflow>({ ...input, carry });
    }
  }
}
