/**
 * A plan's share of the store: its chunks read a few at a time, which of its items have a final result,
 * and results written back grouped by chunk. Holds ids and counts; bodies pass through.
 */
import type { BatchLine, BatchOutputLine } from '../../shared/contracts';
import type { ProviderBatchPlan, RangeSummary } from '../../shared/native';
import { requestedSchema, type JsonSchema } from '../../shared/structuredOutput';
import type { BatchStore } from '../../storage/types';
import { summarizeChunk } from '../chunkSummary';

/** Chunks read or written at once: a plan spans up to 500 of them, and one at a time leaves the disk idle. */
const CHUNK_IO_CONCURRENCY = 8;

export const jsonlLine = (line: BatchLine): Buffer => Buffer.from(`${JSON.stringify(line)}\n`);

/** Runs `f` for every chunk of the plan, a few at a time, in no particular order. */
export async function forEachChunk(plan: ProviderBatchPlan, f: (chunk: number) => Promise<void>): Promise<void> {
  let next = plan.firstChunk;
  const lane = async (): Promise<void> => {
    while (next <= plan.lastChunk) await f(next++);
  };
  const lanes = Math.min(CHUNK_IO_CONCURRENCY, plan.lastChunk - plan.firstChunk + 1);
  await Promise.all(Array.from({ length: lanes }, lane));
}

/**
 * Which of a plan's items have a final result, and their counts and tokens: what a RangeSummary needs,
 * without holding the results themselves (a plan's output can be 200 MB).
 */
export class RangeTally {
  private readonly ids = new Set<string>();
  private readonly totals = { succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, repaired: 0, invalidOutput: 0 };

  has(customId: string): boolean {
    return this.ids.has(customId);
  }

  add(line: BatchOutputLine): void {
    if (this.ids.has(line.custom_id)) return;
    this.ids.add(line.custom_id);
    const s = summarizeChunk(0, [line]);
    this.totals.succeeded += s.succeeded;
    this.totals.failed += s.failed;
    this.totals.tokensIn += s.tokensIn;
    this.totals.tokensOut += s.tokensOut;
    this.totals.repaired += s.repaired ?? 0;
    this.totals.invalidOutput += s.invalidOutput ?? 0;
  }

  /** The range's counts; repairs and invalid outputs only when there are some (structured outputs). */
  summary(items: number): RangeSummary {
    const { repaired, invalidOutput, ...totals } = this.totals;
    return {
      ...totals,
      remaining: items - this.ids.size,
      ...(repaired > 0 ? { repaired } : {}),
      ...(invalidOutput > 0 ? { invalidOutput } : {}),
    };
  }
}

/**
 * The JSON Schema each of a plan's items asks its answer to follow (requestedSchema), by custom_id. Lines of a
 * batch usually share one schema: each distinct schema is held once, whatever the number of lines.
 */
export class RangeSchemas {
  private readonly distinct = new Map<string, number>();
  private readonly schemas: JsonSchema[] = [];
  private readonly byId = new Map<string, number>();

  add(line: BatchLine): void {
    const schema = requestedSchema(line.url, line.body);
    if (!schema) return;
    const key = JSON.stringify(schema);
    let k = this.distinct.get(key);
    if (k === undefined) {
      k = this.schemas.push(schema) - 1;
      this.distinct.set(key, k);
    }
    this.byId.set(line.custom_id, k);
  }

  get(customId: string): JsonSchema | undefined {
    const k = this.byId.get(customId);
    return k === undefined ? undefined : this.schemas[k];
  }
}

/**
 * custom_id → chunk for the plan's items, a tally of the results already recorded for them, and their model (a
 * native batch has one); `withSchemas`: the schemas the items without a result ask for (collection checks them).
 */
export async function rangeState(store: BatchStore, batchId: string, plan: ProviderBatchPlan, withSchemas = false) {
  const chunkOf = new Map<string, number>();
  const recorded = new RangeTally();
  const schemas = new RangeSchemas();
  let model: string | undefined;
  await forEachChunk(plan, async (chunk) => {
    const [lines, results] = await Promise.all([store.getChunk(batchId, chunk), store.getChunkResults(batchId, chunk)]);
    for (const line of lines) {
      if (line.url !== plan.endpoint) continue;
      chunkOf.set(line.custom_id, chunk);
      if (model === undefined && typeof line.body.model === 'string') model = line.body.model;
      const r = results.get(line.custom_id);
      if (r) recorded.add(r);
      else if (withSchemas) schemas.add(line);
    }
  });
  return { chunkOf, recorded, model, schemas };
}

/**
 * Results on their way into the store, grouped by chunk. Lines of a provider batch's files come in any
 * order, across up to 500 chunks; an appendResult per line is an open, a write and a close each (the
 * collection's main cost at 50,000 lines). Buffering up to `maxLines` and then writing each chunk's
 * share through one writer costs a few system calls per chunk instead, and keeps memory and open files
 * bounded whatever the order. A worker killed with lines still buffered loses nothing: they are not in
 * the store, so the retried collection finds them missing and records them then.
 */
export class ResultSink {
  private buffered = new Map<number, BatchOutputLine[]>();
  private count = 0;
  private lastFlush = Date.now();

  constructor(
    private readonly store: BatchStore,
    private readonly batchId: string,
    private readonly maxLines = 5000,
    /** A slow download still shows its results in the store within about this long. */
    private readonly maxDelayMs = 1000,
  ) {}

  async add(chunk: number, line: BatchOutputLine): Promise<void> {
    const list = this.buffered.get(chunk);
    if (list) list.push(line);
    else this.buffered.set(chunk, [line]);
    if (++this.count >= this.maxLines || Date.now() - this.lastFlush >= this.maxDelayMs) await this.flush();
  }

  async flush(): Promise<void> {
    const groups = [...this.buffered];
    this.buffered = new Map();
    this.count = 0;
    this.lastFlush = Date.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let g = groups[next++]; g; g = groups[next++]) {
        const [chunk, lines] = g;
        const writer = await this.store.openResults(this.batchId, chunk);
        try {
          // Not awaited one by one: the writer merges the appends it is given meanwhile into one write.
          await Promise.all(lines.map((l) => writer.append(l)));
        } finally {
          await writer.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CHUNK_IO_CONCURRENCY, groups.length) }, lane));
  }
}
