import type { BatchLine, BatchOutputLine } from '../shared/contracts';

export interface BatchManifest {
  batchId: string;
  total: number;
  chunkSize: number;
  chunkCount: number;
  createdAt: string;
}

export type ResultFilter = 'all' | 'succeeded' | 'failed';

/**
 * Claim check: request and response bodies live here, never in workflow
 * history. Workflows pass batch ids and chunk numbers only.
 */
export interface BatchStore {
  /** Writes the input split into chunks of `chunkSize`; nothing is visible until it all succeeds. */
  putInput(batchId: string, lines: Iterable<BatchLine> | AsyncIterable<BatchLine>, chunkSize: number): Promise<BatchManifest>;
  getManifest(batchId: string): Promise<BatchManifest | undefined>;
  getChunk(batchId: string, chunk: number): Promise<BatchLine[]>;
  /** Appends results as they arrive. A custom_id recorded twice keeps its first result. */
  appendResult(batchId: string, chunk: number, result: BatchOutputLine): Promise<void>;
  /** The results recorded so far for one chunk, by custom_id. */
  getChunkResults(batchId: string, chunk: number): Promise<Map<string, BatchOutputLine>>;
  /** Every recorded result once, chunk by chunk. */
  streamResults(batchId: string, filter?: ResultFilter): AsyncIterable<BatchOutputLine>;
}

export const isSuccess = (r: BatchOutputLine): boolean =>
  r.error === null && r.response !== null && r.response.status_code >= 200 && r.response.status_code < 300;
