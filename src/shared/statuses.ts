/**
 * A batch's statuses, written once: the workflows report them, the API answers and filters by them, the
 * OpenAPI document lists them and the CLI waits for an ended one. No I/O: workflow code imports this module.
 */
import { z } from 'zod';

/** `scheduled`: the batch waits for its `notBefore` time (options.notBefore); nothing has run yet. */
export const BATCH_STATUSES = ['scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const;
export const BatchStatusSchema = z.enum(BATCH_STATUSES);
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/** The statuses a batch does not leave: it takes no more signals, and its results no longer change once recorded. */
export const ENDED_STATUSES: ReadonlySet<BatchStatus> = new Set<BatchStatus>(['completed', 'cancelled', 'failed']);

export const isEnded = (status: BatchStatus): boolean => ENDED_STATUSES.has(status);

/** Why a batch paused itself: `budget`, its budgetUsd was reached; `window`, its run window closed. */
export type PauseReason = 'budget' | 'window';
