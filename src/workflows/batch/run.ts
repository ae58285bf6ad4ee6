/**
 * A batch workflow run's sliding window: the chunk activities in flight (each in a cancellation scope of
 * its own), the counters they add to, and the budget check after each. Holds counters, never bodies.
 */
import { CancellationScope, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import {
  costUsd,
  DEFAULT_PRIORITY,
  type BatchCarry,
  type BatchProgress,
  type BatchWorkflowInput,
} from '../../shared/contracts';
import { eventData, notify } from '../notify';
import { chunkActivities } from './activityProxies';
import { buildProgress, chunkLength } from './progress';
import { addedBy } from './chunkReport';
import { addCounts } from '../../shared/counts';
import { showProgress, Visibility } from '../visibility';

const DEFAULT_MAX_ATTEMPTS = 5;
/** Roll over well before Temporal's 10,240-event warning even if the server does not suggest it. */
const HISTORY_EVENTS_LIMIT = 8_000;

export function initialState(input: BatchWorkflowInput): BatchCarry {
  return {
    nextChunk: 0,
    requeued: [],
    succeeded: 0,
    failed: 0,
    tokensIn: 0,
    tokensOut: 0,
    cacheHits: 0,
    paused: false,
    priority: input.priority ?? DEFAULT_PRIORITY,
    maxChunksInFlight: input.maxChunksInFlight,
    startedAt: new Date().toISOString(),
    runs: 1,
  };
}

export class BatchRun {
  /** Chunks in flight, each with the scope that cancels its activity. */
  readonly inFlight = new Map<number, CancellationScope>();
  cancelRequested = false;
  /** What fails the batch (say, the provider rejected our key); set once. */
  failure: unknown;
  finalStatus: BatchProgress['status'] | undefined = undefined;
  /** The search attributes and current details the Web UI shows. */
  readonly visibility = new Visibility();
  /** A completed batch waits for `retryDeadLetters` (its grace); `retryRequested`: the signal came. */
  retryable = false;
  retryRequested = false;
  /** Waiting for its notBefore time (notBefore.ts): nothing is scheduled yet. A continued-as-new run has started. */
  scheduled: boolean;
  private readonly maxAttempts: number;
  private readonly historyLimit: number;

  constructor(
    readonly input: BatchWorkflowInput,
    /** What continue-as-new carries over. */
    readonly state: BatchCarry,
  ) {
    this.maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.historyLimit = input.historyEventsLimit ?? HISTORY_EVENTS_LIMIT;
    this.scheduled = !input.carry && input.notBeforeMs !== undefined && input.notBeforeMs > Date.now();
  }

  status(): BatchProgress['status'] {
    if (this.finalStatus) return this.finalStatus;
    if (this.cancelRequested) return 'cancelled';
    return this.state.paused ? 'paused' : this.scheduled ? 'scheduled' : 'running';
  }

  progress(status: BatchProgress['status'] = this.status()): BatchProgress {
    return buildProgress(this.input, this.state, this.inFlight.keys(), status, Date.now());
  }

  /** The live counts to the Web UI's current details, and the status and priority to the search attributes. */
  show(): void {
    showProgress(this.progress());
    this.visibility.sync(this.status(), this.state.priority);
  }

  cancelInFlight(): void {
    this.inFlight.forEach((scope) => scope.cancel());
  }

  stopping(): boolean {
    return this.cancelRequested || this.failure !== undefined;
  }

  hasWork(): boolean {
    return this.state.requeued.length > 0 || this.state.nextChunk < this.input.chunkCount;
  }

  /** History is getting long: time to continue as new. */
  rollover(): boolean {
    return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > this.historyLimit;
  }

  canSchedule(): boolean {
    return (
      !this.stopping() &&
      !this.state.paused &&
      !this.rollover() &&
      this.hasWork() &&
      this.inFlight.size < this.state.maxChunksInFlight
    );
  }

  /** Starts the next chunk: a re-run first, else the next new one. */
  startNextChunk(): void {
    this.startChunk(this.state.requeued.shift() ?? this.state.nextChunk++);
  }

  private startChunk(chunk: number): void {
    const { input, state } = this;
    const scope = new CancellationScope();
    this.inFlight.set(chunk, scope);
    const summary = `chunk ${chunk} of ${input.chunkCount} · up to ${chunkLength(input, chunk)} items`;
    const { processChunk } = chunkActivities(state.priority, input, summary);
    const { batchId, cache, tenant, price, repairAttempts, pipeline } = input;
    const { maxAttempts } = this;
    const chunkInput = { batchId, chunk, maxAttempts, cache, tenant, price, repairAttempts, pipeline };
    void scope
      .run(() => processChunk(chunkInput))
      .then(
        async (report) => {
          addCounts(state, addedBy(state, chunk, report));
          await this.pauseIfOverBudget();
          this.show();
        },
        (err: unknown) => {
          // A chunk stopped by pause or cancel can end in its attempt's own failure instead (items failed while it was
          // stopping, and Temporal retries no activity asked to cancel): that is a stop, not the batch failing.
          if (!isCancellation(err) && !scope.consideredCancelled) {
            this.failure ??= err; // e.g. the provider rejected our key: fail fast
            this.cancelInFlight();
          } else if (!this.cancelRequested) state.requeued.push(chunk); // paused: run the rest later
        },
      )
      .finally(() => this.inFlight.delete(chunk));
  }

  /** Pauses the batch (and says so by webhook) once its estimated cost reaches its budget. */
  private async pauseIfOverBudget(): Promise<void> {
    const { input, state } = this;
    const cost = costUsd(input.price, state.tokensIn, state.tokensOut, 'realtime');
    if (input.budgetUsd === undefined || cost === null || cost < input.budgetUsd) return;
    if (state.paused || state.budgetLifted || this.stopping()) return;
    state.paused = true;
    state.pauseReason = 'budget';
    state.budgetPauses = (state.budgetPauses ?? 0) + 1;
    this.cancelInFlight();
    const reason = `the estimated cost ${cost} USD reached the budget of ${input.budgetUsd} USD`;
    log.info('batch paused for budget', {
      batchId: input.batchId,
      tenant: input.tenant,
      cost,
      budgetUsd: input.budgetUsd,
    });
    await notify(input, 'batch.paused', eventData(this.progress('paused'), reason), state.budgetPauses);
  }
}
