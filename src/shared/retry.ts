/**
 * Retrying a batch's dead letters from the Temporal Web UI: a completed batch with dead letters stays open
 * for LLMBATCH_RETRY_GRACE and takes the `retryDeadLetters` signal (the Web UI's "Send a Signal" lists it,
 * with its description). POST /batches/:id/retry, which makes a new batch of them, is unchanged.
 */
import type { ChunkCounts } from './counts';
import { defineSignal } from './temporalDefinitions';

/** Re-runs the batch's dead letters (its failed results) in the same batch, each with a fresh retry budget. */
export const retryDeadLettersSignal = defineSignal('retryDeadLetters');

export const RETRY_DEAD_LETTERS_DESCRIPTION =
  "Re-run this batch's dead letters (its failed results) in the same batch, each with a fresh retry budget. " +
  'Taken while a completed batch with dead letters waits out LLMBATCH_RETRY_GRACE; no input.';

export interface ReopenDeadLettersInput {
  batchId: string;
  chunkCount: number;
}

/**
 * What reopening the dead letters did: how many items have no result now, and, for each chunk holding
 * some (to run again), what it still holds. A chunk that runs again reports everything recorded for it,
 * so the workflow takes what it held off that report: the counts stay exact while it runs.
 */
export interface ReopenedDeadLetters {
  reopened: number;
  kept: Record<number, ChunkCounts>;
}

/** What a batch carries of its retries across continue-as-new (BatchCarry.retry). */
export interface RetryCarry {
  /** Signals taken so far: each run to the end sends its own end event. */
  count: number;
  /** The chunks being run again, with what each held when reopened. */
  kept: Record<number, ChunkCounts>;
}
