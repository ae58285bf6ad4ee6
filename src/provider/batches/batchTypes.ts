/** The batch lifecycle's statuses, from the `openai` package's Batch type. */
import type { Batch } from 'openai/resources/batches';
import type { BatchUsage } from '../openaiObjects';

/** Every status, for the stats' per-status counts. */
export const BATCH_STATUSES = [
  'validating',
  'failed',
  'in_progress',
  'finalizing',
  'completed',
  'expired',
  'cancelling',
  'cancelled',
] as const satisfies readonly Batch['status'][];
/** Compiles only while BATCH_STATUSES lists every status of the package's union. */
type Listed<T extends true> = T;
export type EveryBatchStatusListed = Listed<Batch['status'] extends (typeof BATCH_STATUSES)[number] ? true : false>;

export const emptyUsage = (): BatchUsage => ({
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
});

/** States from which nothing more will happen. */
export const isTerminal = (status: Batch['status']): boolean =>
  status === 'completed' || status === 'failed' || status === 'expired' || status === 'cancelled';
