/**
 * FileStore on PostgreSQL (tables `files` and `file_parts` in migrations.ts). Content goes in and comes
 * out in parts of up to PART_BYTES, one query each: an upload or a download never sits whole in memory,
 * and no transaction stays open while a client streams. Staged content is parts under a fresh random
 * content_id that no `files` row names yet; commit inserts that row, which is what makes the file exist.
 * A process killed mid-upload leaves such unnamed parts behind: garbage, never a visible file.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { FILE_ID_PATTERN, type FileListQuery, type FileStore, type StagedFile, type StoredFile } from '../files';

/** Content is stored in bytea rows of this many bytes (the last one shorter). */
const PART_BYTES = 1024 * 1024;
const COLUMNS = 'file_id, tenant, purpose, filename, bytes, created_at';

interface FileRow {
  file_id: string;
  tenant: string | null;
  purpose: string;
  filename: string;
  /** bigint: pg returns it as a string. */
  bytes: string;
  created_at: Date;
}

const toStoredFile = (r: FileRow): StoredFile => ({
  id: r.file_id,
  bytes: Number(r.bytes),
  createdAt: r.created_at.getTime(),
  filename: r.filename,
  purpose: r.purpose,
  ...(r.tenant !== null && { tenant: r.tenant }),
});

export class PostgresFileStore implements FileStore {
  constructor(private readonly pool: Pool) {}

  async stage(content: AsyncIterable<Uint8Array>): Promise<StagedFile> {
    const contentId = randomBytes(12).toString('hex');
    let bytes: number;
    try {
      bytes = await this.writeParts(contentId, content);
    } catch (err) {
      await this.dropParts(contentId).catch(() => undefined);
      throw err;
    }
    let state: 'staged' | 'committed' | 'discarded' = 'staged';
    return {
      bytes,
      commit: async (meta) => {
        if (state !== 'staged') throw new Error(`staged file already ${state}`);
        if (!FILE_ID_PATTERN.test(meta.id)) throw new Error(`invalid file id: ${meta.id}`);
        // The primary key refuses an existing id, also against another API replica committing the same one.
        const { rowCount } = await this.pool.query(
          `INSERT INTO files (file_id, tenant, purpose, filename, bytes, created_at, content_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (file_id) DO NOTHING`,
          [meta.id, meta.tenant ?? null, meta.purpose, meta.filename, bytes, new Date(meta.createdAt), contentId],
        );
        if (rowCount === 0) throw new Error(`file ${meta.id} already exists`);
        state = 'committed';
        return { ...meta, bytes };
      },
      discard: async () => {
        if (state !== 'staged') return;
        state = 'discarded';
        await this.dropParts(contentId);
      },
    };
  }

  /** Inserts the content as parts of exactly PART_BYTES (the last shorter); returns its size. */
  private async writeParts(contentId: string, content: AsyncIterable<Uint8Array>): Promise<number> {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let part = 0;
    let total = 0;
    const put = async (data: Buffer): Promise<void> => {
      await this.pool.query('INSERT INTO file_parts (content_id, part, data) VALUES ($1, $2, $3)', [
        contentId,
        part,
        data,
      ]);
      part += 1;
    };
    for await (const chunk of content) {
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      total += chunk.byteLength;
      if (pendingBytes < PART_BYTES) continue;
      let joined = Buffer.concat(pending, pendingBytes);
      for (; joined.length >= PART_BYTES; joined = joined.subarray(PART_BYTES))
        await put(joined.subarray(0, PART_BYTES));
      pending = joined.length > 0 ? [joined] : [];
      pendingBytes = joined.length;
    }
    if (pendingBytes > 0) await put(Buffer.concat(pending, pendingBytes));
    return total;
  }

  private async dropParts(contentId: string): Promise<void> {
    await this.pool.query('DELETE FROM file_parts WHERE content_id = $1', [contentId]);
  }

  async get(id: string): Promise<StoredFile | undefined> {
    if (!FILE_ID_PATTERN.test(id)) return undefined;
    const { rows } = await this.pool.query<FileRow>(`SELECT ${COLUMNS} FROM files WHERE file_id = $1`, [id]);
    return rows[0] && toStoredFile(rows[0]);
  }

  async list(query: FileListQuery): Promise<{ data: StoredFile[]; hasMore: boolean }> {
    const params: unknown[] = [];
    const conditions: string[] = [];
    const where = (condition: string, value: unknown): void => {
      params.push(value);
      conditions.push(`${condition} $${params.length}`);
    };
    if (query.tenant !== undefined) where('tenant =', query.tenant);
    if (query.purpose !== undefined) where('purpose =', query.purpose);
    if (query.after !== undefined) where(query.order === 'asc' ? 'file_id >' : 'file_id <', query.after);
    // One row more than asked for tells whether there are more.
    params.push(query.limit + 1);
    const filter = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<FileRow>(
      `SELECT ${COLUMNS} FROM files ${filter} ORDER BY file_id ${query.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ` +
        `$${params.length}`,
      params,
    );
    return { data: rows.slice(0, query.limit).map(toStoredFile), hasMore: rows.length > query.limit };
  }

  async delete(id: string): Promise<boolean> {
    if (!FILE_ID_PATTERN.test(id)) return false;
    // One statement: the row and its parts go together, and a concurrent delete sees the row gone or not.
    const { rows } = await this.pool.query<{ n: number }>(
      `WITH f AS (DELETE FROM files WHERE file_id = $1 RETURNING content_id),
            p AS (DELETE FROM file_parts WHERE content_id IN (SELECT content_id FROM f))
       SELECT count(*)::int AS n FROM f`,
      [id],
    );
    return rows[0]!.n > 0;
  }

  async open(id: string): Promise<AsyncIterable<Buffer> | undefined> {
    if (!FILE_ID_PATTERN.test(id)) return undefined;
    // The first part comes with the row, so that content deleted
    // meanwhile is a miss rather than an error on the first read.
    const { rows } = await this.pool.query<{ content_id: string; bytes: string; data: Buffer | null }>(
      'SELECT f.content_id, f.bytes, p.data FROM files f LEFT JOIN file_parts p ON p.content_id = f.content_id ' +
        'AND p.part = 0 WHERE f.file_id = $1',
      [id],
    );
    const row = rows[0];
    return row && this.readParts(id, row.content_id, Number(row.bytes), row.data);
  }

  /** Yields part after part, each fetched when the reader asks for it, until `bytes` have been read. */
  private async *readParts(id: string, contentId: string, bytes: number, first: Buffer | null): AsyncIterable<Buffer> {
    let data = first;
    let read = 0;
    for (let part = 0; read < bytes; part += 1) {
      if (part > 0) {
        const { rows } = await this.pool.query<{ data: Buffer }>(
          'SELECT data FROM file_parts WHERE content_id = $1 AND part = $2',
          [contentId, part],
        );
        data = rows[0]?.data ?? null;
      }
      // Only a delete during the read removes parts of a committed file: the reader gets an error, not a short file.
      if (!data) throw new Error(`file ${id} was deleted while being read`);
      read += data.length;
      yield data;
    }
  }
}
