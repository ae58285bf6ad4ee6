import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { nowSeconds, randomId } from '../ids';
import type { FileObject } from '../openaiObjects';

export interface ListFilesQuery {
  purpose?: string | undefined;
  after?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/**
 * Files on disk (inputs may be 200 MB), metadata in memory. Content sits in
 * `<dataDir>/files/<id>`; uploads land in `<dataDir>/uploads` first and are
 * moved in once complete, so a half-written upload is never visible.
 */
export class FileStore {
  private readonly files = new Map<string, FileObject>();

  private constructor(readonly dataDir: string) {}

  static async open(dataDir: string): Promise<FileStore> {
    const store = new FileStore(dataDir);
    await mkdir(store.filesDir, { recursive: true });
    await mkdir(store.uploadDir, { recursive: true });
    return store;
  }

  get uploadDir(): string {
    return join(this.dataDir, 'uploads');
  }

  private get filesDir(): string {
    return join(this.dataDir, 'files');
  }

  contentPath(id: string): string {
    return join(this.filesDir, id);
  }

  /** Takes ownership of a finished upload. */
  async adoptUpload(tempPath: string, filename: string, purpose: string): Promise<FileObject> {
    const id = randomId('file-');
    await rename(tempPath, this.contentPath(id));
    const { size } = await stat(this.contentPath(id));
    return this.register(id, filename, purpose, size);
  }

  /** For generated files (batch output/error): write lines, then publish or discard. */
  async createWriter(filename: string, purpose: string): Promise<FileWriter> {
    const id = randomId('file-');
    const handle = await open(this.contentPath(id), 'w');
    const remove = (): Promise<void> => rm(this.contentPath(id), { force: true });
    return new FileWriter(id, handle, remove, async (bytes) => {
      if (bytes === 0) {
        await remove();
        return null;
      }
      return this.register(id, filename, purpose, bytes);
    });
  }

  get(id: string): FileObject | undefined {
    return this.files.get(id);
  }

  list(query: ListFilesQuery): { data: FileObject[]; hasMore: boolean } {
    let all = [...this.files.values()];
    if (query.purpose !== undefined) all = all.filter((f) => f.purpose === query.purpose);
    if (query.order === 'desc') all.reverse();
    const start = query.after === undefined ? 0 : all.findIndex((f) => f.id === query.after) + 1;
    const data = all.slice(start, start + query.limit);
    return { data, hasMore: start + query.limit < all.length };
  }

  async delete(id: string): Promise<boolean> {
    if (!this.files.delete(id)) return false;
    await rm(this.contentPath(id), { force: true });
    return true;
  }

  private register(id: string, filename: string, purpose: string, bytes: number): FileObject {
    const file: FileObject = {
      id,
      object: 'file',
      bytes,
      created_at: nowSeconds(),
      filename,
      purpose,
      status: 'processed',
      status_details: null,
      expires_at: null,
    };
    this.files.set(id, file);
    return file;
  }
}

/** Appends text to a file being generated; `finish` closes it and publishes it if non-empty. */
export class FileWriter {
  private bytes = 0;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly handle: FileHandle,
    private readonly remove: () => Promise<void>,
    private readonly publish: (bytes: number) => Promise<FileObject | null>,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async write(text: string): Promise<void> {
    if (text.length === 0) return;
    const buffer = Buffer.from(text);
    await this.handle.write(buffer);
    this.bytes += buffer.length;
  }

  async finish(): Promise<FileObject | null> {
    await this.close();
    return this.publish(this.bytes);
  }

  /** Close and delete: the content will never be published (failed batch). */
  async discard(): Promise<void> {
    await this.close();
    await this.remove();
  }

  /** Close without publishing (simulator shutting down). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
