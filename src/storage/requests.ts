/**
 * Single requests (`POST /requests`) waiting to be gathered into a batch: the claim check of the gatherer. The API
 * stores each request's line by its id before it signals the gatherer (which holds ids only); the flush activity
 * reads the lines to build the batch and records, per request, the batch it went into, which `GET /requests/:id`
 * reads back. Files here (one host); PostgreSQL in postgres/requestStore.ts.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchLine } from '../shared/contracts';

export interface StoredRequest {
  tenant: string;
  /** The lane key the request is gathered on. */
  lane: string;
  /** The client's own custom_id, if it gave one (the batch line's custom_id is the request id). */
  customId: string | null;
  createdAt: string;
  /** The batch line: custom_id is the request id, so two requests with one custom_id never collide. */
  line: BatchLine;
  /** The batch it was gathered into, once it was. */
  batchId?: string;
}

export interface RequestStore {
  /** Writes a new request; once it resolves, the request survives a crash. */
  put(id: string, request: StoredRequest): Promise<void>;
  get(id: string): Promise<StoredRequest | undefined>;
  /** Records that these requests went into `batchId` (idempotent: a retried flush writes the same). */
  assign(ids: readonly string[], batchId: string): Promise<void>;
}

const ID = /^req_[0-9a-f]{24}$/;

/** `requests/<id>.json`, the request as the API stored it, and `requests/<id>.batch`, its batch once gathered. */
export class FileRequestStore implements RequestStore {
  constructor(private readonly root: string) {}

  private path(id: string, ext: 'json' | 'batch'): string {
    if (!ID.test(id)) throw new Error(`invalid request id: ${id}`);
    return join(this.root, 'requests', `${id}.${ext}`);
  }

  /** Written whole and renamed: a reader sees the file complete or not at all, also after a kill. */
  private async write(path: string, text: string): Promise<void> {
    await mkdir(join(this.root, 'requests'), { recursive: true });
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  }

  put(id: string, request: StoredRequest): Promise<void> {
    const { batchId: _none, ...record } = request;
    return this.write(this.path(id, 'json'), JSON.stringify(record));
  }

  async get(id: string): Promise<StoredRequest | undefined> {
    const [record, batchId] = await Promise.all([
      readIfThere(this.path(id, 'json')),
      readIfThere(this.path(id, 'batch')),
    ]);
    if (record === undefined) return undefined;
    const request = JSON.parse(record) as StoredRequest;
    return batchId ? { ...request, batchId } : request;
  }

  /** A file of its own per request, written side by side: a flush of 100 costs 100 small writes at once. */
  async assign(ids: readonly string[], batchId: string): Promise<void> {
    await Promise.all(ids.map((id) => this.write(this.path(id, 'batch'), batchId)));
  }
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
