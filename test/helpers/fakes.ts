/** Fakes for activity unit tests: an in-memory store and an OpenAI client whose answers a test scripts. */
import { APIConnectionTimeoutError, APIError } from 'openai';
import type OpenAI from 'openai';
import type { BatchLine, BatchOutputLine, BatchProgress } from '../../src/shared/contracts';
import {
  Chunker,
  isSuccess,
  matchesRecord,
  type BatchManifest,
  type BatchStore,
  type ChunkWeight,
  type RecordQuery,
  type ResultFilter,
} from '../../src/storage/types';

export class MemoryStore implements BatchStore {
  chunks = new Map<string, BatchLine[]>();
  results = new Map<string, BatchOutputLine[]>();
  manifests = new Map<string, BatchManifest>();
  outcomes = new Map<string, BatchProgress>();
  records = new Map<string, Map<string, unknown>>();
  /** `<batch>/<chunk>` -> custom_id -> transient failures counted. */
  failures = new Map<string, Map<string, number>>();

  async putInput(
    batchId: string,
    lines: Iterable<BatchLine> | AsyncIterable<BatchLine>,
    chunkSize: number,
    weight?: ChunkWeight,
  ): Promise<BatchManifest> {
    const chunker = new Chunker(chunkSize, weight);
    let total = 0;
    for await (const l of lines) {
      const key = `${batchId}/${chunker.place(l)}`;
      this.chunks.set(key, [...(this.chunks.get(key) ?? []), l]);
      total += 1;
    }
    const m = { batchId, total, chunkSize, chunkCount: chunker.chunkCount, createdAt: new Date().toISOString() };
    this.manifests.set(batchId, m);
    return m;
  }
  async getManifest(batchId: string) {
    return this.manifests.get(batchId);
  }
  async getChunk(batchId: string, chunk: number) {
    return this.chunks.get(`${batchId}/${chunk}`) ?? [];
  }
  async appendResult(batchId: string, chunk: number, result: BatchOutputLine) {
    const key = `${batchId}/${chunk}`;
    this.results.set(key, [...(this.results.get(key) ?? []), result]);
  }
  async openResults(batchId: string, chunk: number) {
    return {
      append: (r: BatchOutputLine) => this.appendResult(batchId, chunk, r),
      countFailure: async (customId: string) => {
        const key = `${batchId}/${chunk}`;
        const counts = this.failures.get(key) ?? new Map<string, number>();
        counts.set(customId, (counts.get(customId) ?? 0) + 1);
        this.failures.set(key, counts);
      },
      close: async () => undefined,
    };
  }
  async getFailureCounts(batchId: string, chunk: number) {
    return new Map(this.failures.get(`${batchId}/${chunk}`));
  }
  async reopenFailed(batchId: string) {
    const reopened = new Map<number, number>();
    this.outcomes.delete(batchId);
    for (let chunk = 0; chunk < (this.manifests.get(batchId)?.chunkCount ?? 0); chunk++) {
      const key = `${batchId}/${chunk}`;
      const failed = [...(await this.getChunkResults(batchId, chunk)).values()].filter((r) => !isSuccess(r));
      if (failed.length === 0) continue;
      const ids = new Set(failed.map((r) => r.custom_id));
      this.results.set(
        key,
        [...(await this.getChunkResults(batchId, chunk)).values()].filter((r) => !ids.has(r.custom_id)),
      );
      for (const id of ids) this.failures.get(key)?.delete(id);
      reopened.set(chunk, ids.size);
    }
    return reopened;
  }
  async putOutcome(batchId: string, outcome: BatchProgress) {
    this.outcomes.set(batchId, outcome);
  }
  async getOutcome(batchId: string) {
    return this.outcomes.get(batchId);
  }
  async putRecord(batchId: string, kind: string, record: unknown) {
    if (!this.manifests.has(batchId)) throw new Error(`batch ${batchId} not found`);
    const kinds = this.records.get(batchId) ?? new Map<string, unknown>();
    kinds.set(kind, structuredClone(record));
    this.records.set(batchId, kinds);
  }
  async getRecord(batchId: string, kind: string) {
    return structuredClone(this.records.get(batchId)?.get(kind));
  }
  async listRecords(kind: string, { after, limit, order, where, match }: RecordQuery) {
    const accepts = (r: unknown) => matchesRecord(r, match) && (!where || where(r));
    const ids = [...this.records.keys()]
      .filter((id) => this.records.get(id)?.has(kind) && accepts(this.records.get(id)?.get(kind)))
      .sort();
    if (order === 'desc') ids.reverse();
    return ids
      .filter((id) => after === undefined || (order === 'asc' ? id > after : id < after))
      .slice(0, limit)
      .map((batchId) => ({ batchId, record: structuredClone(this.records.get(batchId)?.get(kind)) }));
  }
  async getChunkResults(batchId: string, chunk: number) {
    const m = new Map<string, BatchOutputLine>();
    for (const r of this.results.get(`${batchId}/${chunk}`) ?? []) if (!m.has(r.custom_id)) m.set(r.custom_id, r);
    return m;
  }
  async *streamResults(batchId: string, filter: ResultFilter = 'all') {
    const m = this.manifests.get(batchId);
    for (let c = 0; c < (m?.chunkCount ?? 0); c++) {
      for (const r of (await this.getChunkResults(batchId, c)).values())
        if (filter === 'all' || (filter === 'succeeded') === isSuccess(r)) yield r;
    }
  }
}

/**
 * 'hang': never answers (until aborted); 'timeout': what the client throws when its request timeout ends a hung call.
 */
export type FakeAnswer =
  | { status: 200; body: unknown }
  | { status: number; error: string; headers?: Record<string, string> }
  | 'hang'
  | 'timeout';

/** An OpenAI client stand-in implementing the one method the activities use: `post(path, {body}).withResponse()`. */
export function fakeOpenAI(answer: (body: Record<string, unknown>, call: number) => FakeAnswer) {
  const calls: Record<string, unknown>[] = [];
  const client = {
    post(_path: string, opts: { body: Record<string, unknown>; signal?: AbortSignal }) {
      calls.push(opts.body);
      const a = answer(opts.body, calls.length);
      const run = async () => {
        if (a === 'hang') {
          await new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
        }
        if (a === 'timeout') throw new APIConnectionTimeoutError();
        if (a !== 'hang' && 'body' in a) {
          return {
            data: a.body,
            response: new Response(null, { status: 200, headers: { 'x-request-id': `req_${calls.length}` } }),
          };
        }
        const e = a as { status: number; error: string; headers?: Record<string, string> };
        throw APIError.generate(
          e.status,
          { error: { message: e.error, code: e.status === 400 ? 'invalid_value' : undefined } },
          e.error,
          new Headers(e.headers),
        );
      };
      return { withResponse: run };
    },
  };
  return { client: client as unknown as OpenAI, calls };
}

export function chatLines(n: number, prefix = 'item'): BatchLine[] {
  return Array.from({ length: n }, (_, i) => ({
    custom_id: `${prefix}-${i}`,
    method: 'POST' as const,
    url: '/v1/chat/completions' as const,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] },
  }));
}
