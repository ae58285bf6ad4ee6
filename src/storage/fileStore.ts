/**
 * The embedded store: plain files under the data dir.
 *   batches/<id>/manifest.json        written last, so a half-written input is invisible
 *   batches/<id>/input/<chunk>.jsonl  request lines
 *   batches/<id>/results/<chunk>.jsonl  append-only results; deduplicated by custom_id on read
 *   batches/<id>/failures/<chunk>.jsonl  append-only, one `{"custom_id"}` per transient failure of an item
 *   batches/<id>/outcome.json         final progress, once the batch has ended (removed if it is reopened)
 *   batches/<id>/records/<kind>.json  small records kept beside the batch (putRecord), replaced whole
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BatchLine, BatchOutputLine, BatchProgress } from '../shared/contracts';
import { CoalescingAppender } from './coalescingAppender';
import {
  Chunker,
  isSuccess,
  matchesRecord,
  RECORD_KIND_PATTERN,
  type BatchManifest,
  type BatchStore,
  type ChunkWeight,
  type RecordQuery,
  type ResultFilter,
  type ResultWriter,
} from './types';

const chunkFile = (chunk: number): string => `${String(chunk).padStart(7, '0')}.jsonl`;

/**
 * Whole records go out in single O_APPEND writes, so concurrent writers (a retried attempt beside a
 * stalled one) never interleave inside a record. The leading newline closes a line torn by a process
 * killed mid-write; the reader skips the torn part.
 */
const resultRecord = (result: BatchOutputLine): string => `\n${JSON.stringify(result)}\n`;
/** Framed like a result, for the same reasons; counts only, so no body ever lands here. */
const failureRecord = (customId: string): string => `\n${JSON.stringify({ custom_id: customId })}\n`;

const BATCH_ID = /^[A-Za-z0-9_-]{1,128}$/;

function recordFile(kind: string): string {
  if (!RECORD_KIND_PATTERN.test(kind)) throw new Error(`invalid record kind: ${kind}`);
  return join('records', `${kind}.json`);
}

export class FileBatchStore implements BatchStore {
  constructor(private readonly root: string) {}

  private dir(batchId: string): string {
    if (!BATCH_ID.test(batchId)) throw new Error(`invalid batch id: ${batchId}`);
    return join(this.root, 'batches', batchId);
  }

  async putInput(
    batchId: string,
    lines: Iterable<BatchLine> | AsyncIterable<BatchLine>,
    chunkSize: number,
    weight?: ChunkWeight,
  ): Promise<BatchManifest> {
    const dir = this.dir(batchId);
    const staging = `${dir}.staging`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'input'), { recursive: true });
    await mkdir(join(staging, 'results'), { recursive: true });
    try {
      const chunker = new Chunker(chunkSize, weight);
      let total = 0;
      let current = 0;
      let buffer: string[] = [];
      const flush = async (): Promise<void> => {
        if (buffer.length > 0) await writeFile(join(staging, 'input', chunkFile(current)), buffer.join(''));
        buffer = [];
      };
      for await (const line of lines) {
        const chunk = chunker.place(line);
        if (chunk !== current) {
          await flush();
          current = chunk;
        }
        buffer.push(`${JSON.stringify(line)}\n`);
        total += 1;
      }
      await flush();
      const manifest: BatchManifest = {
        batchId,
        total,
        chunkSize,
        chunkCount: chunker.chunkCount,
        createdAt: new Date().toISOString(),
      };
      await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest));
      await rename(staging, dir);
      return manifest;
    } catch (err) {
      // A refused input (a bad line, a quota) leaves nothing behind.
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  async getManifest(batchId: string): Promise<BatchManifest | undefined> {
    return this.readJson<BatchManifest>(batchId, 'manifest.json');
  }

  async putOutcome(batchId: string, outcome: BatchProgress): Promise<void> {
    // Write then rename, so a reader sees the whole outcome or none.
    const path = join(this.dir(batchId), 'outcome.json');
    await writeFile(`${path}.tmp`, JSON.stringify(outcome));
    await rename(`${path}.tmp`, path);
  }

  async getOutcome(batchId: string): Promise<BatchProgress | undefined> {
    return this.readJson<BatchProgress>(batchId, 'outcome.json');
  }

  async putRecord(batchId: string, kind: string, record: unknown): Promise<void> {
    const file = recordFile(kind);
    if (!(await this.getManifest(batchId))) throw new Error(`batch ${batchId} not found`);
    await mkdir(join(this.dir(batchId), 'records'), { recursive: true });
    const path = join(this.dir(batchId), file);
    await writeFile(`${path}.tmp`, JSON.stringify(record));
    await rename(`${path}.tmp`, path);
  }

  async getRecord(batchId: string, kind: string): Promise<unknown> {
    return this.readJson<unknown>(batchId, recordFile(kind));
  }

  async listRecords(kind: string, query: RecordQuery): Promise<Array<{ batchId: string; record: unknown }>> {
    const file = recordFile(kind);
    let names: string[];
    try {
      names = await readdir(join(this.root, 'batches'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const ids = names.filter((n) => BATCH_ID.test(n)).sort(); // staging dirs have a dot in their name
    if (query.order === 'desc') ids.reverse();
    const { after } = query;
    const out: Array<{ batchId: string; record: unknown }> = [];
    for (const batchId of ids) {
      if (out.length >= query.limit) break;
      if (after !== undefined && (query.order === 'asc' ? batchId <= after : batchId >= after)) continue;
      const record = await this.readJson<unknown>(batchId, file);
      if (record !== undefined && matchesRecord(record, query.match) && (!query.where || query.where(record)))
        out.push({ batchId, record });
    }
    return out;
  }

  private async readJson<T>(batchId: string, file: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(batchId), file), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async getChunk(batchId: string, chunk: number): Promise<BatchLine[]> {
    const text = await readFile(join(this.dir(batchId), 'input', chunkFile(chunk)), 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as BatchLine);
  }

  async appendResult(batchId: string, chunk: number, result: BatchOutputLine): Promise<void> {
    await appendFile(this.resultPath(batchId, chunk), resultRecord(result));
  }

  async openResults(batchId: string, chunk: number): Promise<ResultWriter> {
    const results = await CoalescingAppender.open(this.resultPath(batchId, chunk));
    // Opened on the first failure: most chunk attempts have none and never touch the file.
    let failures: Promise<CoalescingAppender> | undefined;
    const openFailures = async (): Promise<CoalescingAppender> => {
      await mkdir(join(this.dir(batchId), 'failures'), { recursive: true });
      return CoalescingAppender.open(this.failurePath(batchId, chunk));
    };
    return {
      append: (result) => results.append(resultRecord(result)),
      countFailure: async (customId) => (await (failures ??= openFailures())).append(failureRecord(customId)),
      close: async () => {
        await Promise.all([
          results.close(),
          failures?.then(
            (f) => f.close(),
            () => undefined,
          ),
        ]);
      },
    };
  }

  private resultPath(batchId: string, chunk: number): string {
    return join(this.dir(batchId), 'results', chunkFile(chunk));
  }

  private failurePath(batchId: string, chunk: number): string {
    return join(this.dir(batchId), 'failures', chunkFile(chunk));
  }

  async getFailureCounts(batchId: string, chunk: number): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for await (const r of readRecords<{ custom_id: string }>(this.failurePath(batchId, chunk))) {
      counts.set(r.custom_id, (counts.get(r.custom_id) ?? 0) + 1);
    }
    return counts;
  }

  async reopenFailed(batchId: string): Promise<Map<number, number>> {
    const reopened = new Map<number, number>();
    const manifest = await this.getManifest(batchId);
    if (!manifest) return reopened;
    // The outcome first: whatever happens next, the batch reads as running and its workflow answers for it.
    await rm(join(this.dir(batchId), 'outcome.json'), { force: true });
    for (let chunk = 0; chunk < manifest.chunkCount; chunk++) {
      const results = [...(await this.getChunkResults(batchId, chunk)).values()];
      const failed = new Set(results.filter((r) => !isSuccess(r)).map((r) => r.custom_id));
      if (failed.size === 0) continue;
      // Counts before results: a crash between the two leaves dead letters that a second call reopens.
      const counts: string[] = [];
      for await (const f of readRecords<{ custom_id: string }>(this.failurePath(batchId, chunk)))
        if (!failed.has(f.custom_id)) counts.push(failureRecord(f.custom_id));
      await replaceFile(this.failurePath(batchId, chunk), counts.join(''));
      // Rewritten with the first result of each item kept: the file is compacted on the way.
      const kept = results.filter((r) => !failed.has(r.custom_id));
      await replaceFile(this.resultPath(batchId, chunk), kept.map(resultRecord).join(''));
      reopened.set(chunk, failed.size);
    }
    return reopened;
  }

  async getChunkResults(batchId: string, chunk: number): Promise<Map<string, BatchOutputLine>> {
    const seen = new Map<string, BatchOutputLine>();
    for await (const r of readRecords<BatchOutputLine>(this.resultPath(batchId, chunk)))
      if (!seen.has(r.custom_id)) seen.set(r.custom_id, r);
    return seen;
  }

  async *streamResults(batchId: string, filter: ResultFilter = 'all'): AsyncIterable<BatchOutputLine> {
    const manifest = await this.getManifest(batchId);
    if (!manifest) return;
    for (let chunk = 0; chunk < manifest.chunkCount; chunk++) {
      for (const r of (await this.getChunkResults(batchId, chunk)).values()) {
        if (filter === 'all' || (filter === 'succeeded') === isSuccess(r)) yield r;
      }
    }
  }
}

/** Replaces a file's content whole (write, then rename): a reader sees the old content or the new. */
async function replaceFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** The records of an append-only file written with the framing above; a missing file has none. */
async function* readRecords<T>(path: string): AsyncIterable<T> {
  const stream = createReadStream(path, 'utf8');
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line) continue;
      try {
        yield JSON.parse(line) as T;
      } catch {
        // A process killed mid-write leaves a torn last line: a result that item redoes, or a failure not counted.
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
