import type { FileStore, FileWriter } from '../files/fileStore';
import { BatchLineReader } from './batchInput';

/**
 * The files of a running batch: the input being read and the output and
 * error files being written. Published (made visible as file objects) when
 * the batch ends, or discarded if it fails.
 */
export class BatchIo {
  private constructor(
    readonly reader: BatchLineReader,
    readonly output: FileWriter,
    readonly errors: FileWriter,
  ) {}

  static async open(files: FileStore, inputPath: string, batchId: string): Promise<BatchIo> {
    const output = await files.createWriter(`${batchId}_output.jsonl`, 'batch_output');
    const errors = await files.createWriter(`${batchId}_error.jsonl`, 'batch_output');
    return new BatchIo(new BatchLineReader(inputPath), output, errors);
  }

  /** Close everything; returns the file ids, null for a file that stayed empty. */
  async publish(): Promise<{ outputFileId: string | null; errorFileId: string | null }> {
    this.reader.close();
    const output = await this.output.finish();
    const errors = await this.errors.finish();
    return { outputFileId: output?.id ?? null, errorFileId: errors?.id ?? null };
  }

  async discard(): Promise<void> {
    this.reader.close();
    await this.output.discard();
    await this.errors.discard();
  }

  /** Release handles without publishing (simulator shutting down). Safe after publish/discard. */
  async close(): Promise<void> {
    this.reader.close();
    await this.output.close();
    await this.errors.close();
  }
}
