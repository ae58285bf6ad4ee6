import type { BatchLine, BatchOutputLine, BatchProgress } from '../shared/contracts';

export interface BatchManifest {
  batchId: string;
  total: number;
  chunkSize: number;
  chunkCount: number;
  createdAt: string;
}

export interface ChunkWeight {
  max: number;
  of(line: BatchLine): number;
}

/** Cuts lines into chunks by count and weight; a line heavier than the limit gets a chunk of its own. */
export class Chunker {
  private count = 0;
  private weight = 0;
  chunk = 0;

  constructor(
    private readonly chunkSize: number,
    private readonly limit?: ChunkWeight,
  ) {}

  /** The chunk this line goes into. */
  place(line: BatchLine): number {
    const w = this.limit ? this.limit.of(line) : 0;
    const full =
      this.count === this.chunkSize || (this.limit !== undefined && this.count > 0 && this.weight + w > this.limit.max);
    if (full) {
      this.chunk += 1;
      this.count = 0;
      this.weight = 0;
    }
    this.count += 1;
    this.weight += w;
    return this.chunk;
  }

  get chunkCount(): number {
    return this.count === 0 && this.chunk === 0 ? 0 : this.chunk + 1;
  }
}

export type ResultFilter = 'all' | 'succeeded' | 'failed';

/**
 * Claim check: request and response bodies live here, never in workflow
 * history. Workflows pass batch ids and chunk numbers only.
 */
export interface BatchStore {
  /**
   * Writes the input split into chunks of at most `chunkSize` lines and, with `weight`,
   * at most `weight.max` total weight (estimated tokens); nothing is visible until it all succeeds.
   */
  putInput(
    batchId: string,
    lines: Iterable<BatchLine> | AsyncIterable<BatchLine>,
    chunkSize: number,
    weight?: ChunkWeight,
  ): Promise<BatchManifest>;
  getManifest(batchId: string): Promise<BatchManifest | undefined>;
  getChunk(batchId: string, chunk: number): Promise<BatchLine[]>;
  /** Appends one result. A custom_id recorded twice keeps its first result. */
  appendResult(batchId: string, chunk: number, result: BatchOutputLine): Promise<void>;
  /**
   * A writer for one chunk's results as they arrive (what the chunk activity uses): cheaper per
   * result than `appendResult`. `append` resolves once the result is recorded; same dedupe rule.
   */
  openResults(batchId: string, chunk: number): Promise<ResultWriter>;
  /** The results recorded so far for one chunk, by custom_id. */
  getChunkResults(batchId: string, chunk: number): Promise<Map<string, BatchOutputLine>>;
  /**
   * How many transient failures each item of one chunk has had (`ResultWriter.countFailure`): the item's own
   * retry budget, which a chunk attempt that died (a killed worker) does not spend. Items that never failed
   * are absent; a record torn by a killed process is not counted.
   */
  getFailureCounts(batchId: string, chunk: number): Promise<Map<string, number>>;
  /** Every recorded result once, chunk by chunk. */
  streamResults(batchId: string, filter?: ResultFilter): AsyncIterable<BatchOutputLine>;
  /**
   * Reopens an ended batch's dead letters (its failed results) to run again in the same batch: removes those
   * results, their items' transient failure counts (a fresh retry budget) and the stored outcome (the batch is
   * running again; its workflow answers for it). Returns how many results it removed, per chunk. Only for a
   * batch no chunk activity is writing to: a result appended meanwhile could be lost.
   */
  reopenFailed(batchId: string): Promise<Map<number, number>>;
  /** The batch's final progress, written once it has ended, so it can be read without Temporal. */
  putOutcome(batchId: string, outcome: BatchProgress): Promise<void>;
  getOutcome(batchId: string): Promise<BatchProgress | undefined>;
  /**
   * A small JSON record of some `kind` kept beside an existing batch (the `/v1` API keeps its OpenAI
   * batch fields under `openai`), replacing any earlier one of that kind; readers see the old or the new.
   * Callers validate what they read back.
   */
  putRecord(batchId: string, kind: string, record: unknown): Promise<void>;
  getRecord(batchId: string, kind: string): Promise<unknown>;
  /** The batches holding a record of `kind`, in batch id order (reversed for `desc`), after the batch id `after`. */
  listRecords(kind: string, query: RecordQuery): Promise<Array<{ batchId: string; record: unknown }>>;
}

export interface RecordQuery {
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
  /**
   * Only records whose top-level fields equal these, and whose `createdAt` (ISO 8601, UTC) is in
   * [createdFrom, createdBefore). A store with an index answers this in the query (PostgreSQL: one index
   * scan of the tenant's records); cheaper than `where`, which reads every record.
   */
  match?: RecordMatch;
  /** Only records this accepts count towards `limit`. */
  where?: (record: unknown) => boolean;
}

export interface RecordMatch {
  tenant?: string;
  api?: string;
  createdFrom?: string;
  createdBefore?: string;
}

/** Whether `record` has the fields of `RecordQuery.match` (for stores without an index to ask). */
export function matchesRecord(record: unknown, match: RecordMatch | undefined): boolean {
  if (!match) return true;
  if (typeof record !== 'object' || record === null) return false;
  const fields = record as Record<string, unknown>;
  const created = typeof fields.createdAt === 'string' ? fields.createdAt : undefined;
  return (
    (match.tenant === undefined || fields.tenant === match.tenant) &&
    (match.api === undefined || fields.api === match.api) &&
    (match.createdFrom === undefined || (created !== undefined && created >= match.createdFrom)) &&
    (match.createdBefore === undefined || (created !== undefined && created < match.createdBefore))
  );
}

/** Record kinds: also what keeps them inside the data dir. */
export const RECORD_KIND_PATTERN = /^[a-z0-9_-]{1,64}$/;

export interface ResultWriter {
  append(result: BatchOutputLine): Promise<void>;
  /**
   * Counts one transient failure of an item (its custom_id only, never a body). Resolves once stored.
   * Only failures write here, so a chunk whose items succeed pays nothing for the counting.
   */
  countFailure(customId: string): Promise<void>;
  /** Waits for every append to finish and releases the writer. */
  close(): Promise<void>;
}

export const isSuccess = (r: BatchOutputLine): boolean =>
  r.error === null && r.response !== null && r.response.status_code >= 200 && r.response.status_code < 300;
