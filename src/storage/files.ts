/**
 * Uploaded files (the OpenAI-compatible `/v1/files`): content plus a little metadata.
 *
 * Uploads are two-phase, so that nothing is visible until the whole upload has arrived and been checked:
 * `stage` streams the content to a staging area, then `commit` publishes it under an id, or `discard`
 * drops it. Files are listed in id order: callers give ids that sort by creation time.
 *
 * The embedded implementation keeps plain files under the data dir:
 *   openai-files/<id>.content   the bytes as uploaded
 *   openai-files/<id>.json      metadata, written last (write, then rename): a file without it does not exist
 *   openai-files/.staging/      uploads in progress; a crash leaves garbage here, never a visible file
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open as openFile, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredFile {
  id: string;
  bytes: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  filename: string;
  purpose: string;
  /** The tenant that uploaded it: only that tenant sees it. */
  tenant?: string;
}

export type NewFile = Omit<StoredFile, 'bytes'>;

export interface StagedFile {
  readonly bytes: number;
  /** Publishes the content under `meta.id` (which must be new). */
  commit(meta: NewFile): Promise<StoredFile>;
  /** Drops the content; safe to call more than once, and after commit (then it does nothing). */
  discard(): Promise<void>;
}

export interface FileListQuery {
  /** Only files whose id sorts after this one in `order`. */
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
  purpose?: string;
  /** Only this tenant's files. */
  tenant?: string;
}

export interface FileStore {
  /** Streams `content` to a staging area. If `content` throws, nothing is left behind and the error is rethrown. */
  stage(content: AsyncIterable<Uint8Array>): Promise<StagedFile>;
  get(id: string): Promise<StoredFile | undefined>;
  /** Files in id order; `hasMore` when more match after the last one returned. */
  list(query: FileListQuery): Promise<{ data: StoredFile[]; hasMore: boolean }>;
  /** False when there was no such file. */
  delete(id: string): Promise<boolean>;
  /** The content, as stored; undefined for an unknown id. */
  open(id: string): Promise<AsyncIterable<Buffer> | undefined>;
}

/** Ids a file store accepts: also what keeps them inside the data dir. */
export const FILE_ID_PATTERN = /^file-[A-Za-z0-9_-]{1,128}$/;

export class LocalFileStore implements FileStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'openai-files');
  }

  private path(id: string, ext: 'content' | 'json'): string {
    if (!FILE_ID_PATTERN.test(id)) throw new Error(`invalid file id: ${id}`);
    return join(this.dir, `${id}.${ext}`);
  }

  async stage(content: AsyncIterable<Uint8Array>): Promise<StagedFile> {
    const staging = join(this.dir, '.staging');
    await mkdir(staging, { recursive: true });
    const tmp = join(staging, randomBytes(12).toString('hex'));
    // Opened before the copy starts: a write stream opens its file on its own schedule, and a source that fails
    // at once would have the file created after the cleanup below had run.
    const file = await openFile(tmp, 'wx');
    try {
      await pipeline(Readable.from(content), file.createWriteStream());
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    const { size } = await stat(tmp);
    let state: 'staged' | 'committed' | 'discarded' = 'staged';
    return {
      bytes: size,
      commit: async (meta) => {
        if (state !== 'staged') throw new Error(`staged file already ${state}`);
        const json = this.path(meta.id, 'json');
        if (await exists(json)) throw new Error(`file ${meta.id} already exists`);
        const file: StoredFile = { ...meta, bytes: size };
        await rename(tmp, this.path(meta.id, 'content'));
        await writeFile(`${json}.tmp`, JSON.stringify(file));
        await rename(`${json}.tmp`, json);
        state = 'committed';
        return file;
      },
      discard: async () => {
        if (state !== 'staged') return;
        state = 'discarded';
        await rm(tmp, { force: true });
      },
    };
  }

  async get(id: string): Promise<StoredFile | undefined> {
    if (!FILE_ID_PATTERN.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.path(id, 'json'), 'utf8')) as StoredFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(query: FileListQuery): Promise<{ data: StoredFile[]; hasMore: boolean }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: [], hasMore: false };
      throw err;
    }
    const ids = names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -'.json'.length))
      .filter((id) => FILE_ID_PATTERN.test(id))
      .sort();
    if (query.order === 'desc') ids.reverse();
    const { after } = query;
    const from = after === undefined ? ids : ids.filter((id) => (query.order === 'asc' ? id > after : id < after));
    const data: StoredFile[] = [];
    for (const id of from) {
      const file = await this.get(id); // deleted meanwhile: skipped
      if (
        !file ||
        (query.purpose !== undefined && file.purpose !== query.purpose) ||
        (query.tenant !== undefined && file.tenant !== query.tenant)
      )
        continue;
      if (data.length === query.limit) return { data, hasMore: true };
      data.push(file);
    }
    return { data, hasMore: false };
  }

  async delete(id: string): Promise<boolean> {
    if (!(await this.get(id))) return false;
    // The metadata goes first: from then on the file does not exist, even if removing the content fails.
    await rm(this.path(id, 'json'), { force: true });
    await rm(this.path(id, 'content'), { force: true });
    return true;
  }

  async open(id: string): Promise<AsyncIterable<Buffer> | undefined> {
    if (!(await this.get(id))) return undefined;
    // Opened here, so that content deleted meanwhile is a miss rather than an error on the first read.
    const handle = await openFile(this.path(id, 'content'), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return handle?.createReadStream();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
