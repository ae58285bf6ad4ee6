/**
 * Appends text to one open file, merging the appends that arrive while a write is under way into the
 * next single write. Each caller's promise settles when the write holding its text has finished.
 *
 * Why: a chunk records up to a hundred results a second; an open/write/close per result cost about
 * 0.15 ms of CPU each (measured in the benchmark), more than the rest of the bookkeeping together.
 */
import { open, type FileHandle } from 'node:fs/promises';

export class CoalescingAppender {
  private buffered = '';
  /** The write that will carry `buffered`, not yet started. */
  private scheduled: Promise<void> | undefined;
  /** The last write started or scheduled: the next one runs after it, so writes never overlap. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(private readonly handle: FileHandle) {}

  /** Opens `path` for appending (O_APPEND: every write lands at the end, even with other writers). */
  static async open(path: string): Promise<CoalescingAppender> {
    return new CoalescingAppender(await open(path, 'a'));
  }

  append(text: string): Promise<void> {
    this.buffered += text;
    if (!this.scheduled) {
      const write = async (): Promise<void> => {
        const data = this.buffered;
        this.buffered = '';
        this.scheduled = undefined;
        // appendFile loops until every byte is written; a bare write() may write part of it.
        await this.handle.appendFile(data);
      };
      // A failed write rejects its own callers only; the next write still runs.
      this.scheduled = this.tail.then(write, write);
      this.tail = this.scheduled;
    }
    return this.scheduled;
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.handle.close();
  }
}
