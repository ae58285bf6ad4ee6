/**
 * OpenAI's File and Batch objects as the simulator sends them: the `openai` package's types, so that the
 * simulator and the official client agree field by field. Only what the wire does differently is ours.
 */
import type { Batch, BatchError as OpenAIBatchError, BatchRequestCounts, BatchUsage } from 'openai/resources/batches';
import type { FileObject as OpenAIFileObject } from 'openai/resources/files';

export type { BatchUsage };

/** The package types as optional (`completed_at?: number`) what the API sends, as null when unset. */
type AsSent<T> = { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] };

/** Ours: `purpose` as uploaded; the package's union lacks `evals`, which uploads accept. */
export type FileObject = Omit<AsSent<OpenAIFileObject>, 'purpose'> & { purpose: string };

/** One problem found while validating an input file (line is 1-based), with every field sent. */
export type BatchError = Required<OpenAIBatchError>;

/** Ours: request_counts, usage and every field of an error are always sent; the package marks them optional. */
export type BatchObject = Omit<AsSent<Batch>, 'errors' | 'request_counts' | 'usage'> & {
  errors: { object: 'list'; data: BatchError[] } | null;
  request_counts: BatchRequestCounts;
  usage: BatchUsage;
};
