import { access } from 'node:fs/promises';
import type { FileStore } from '../files/fileStore';
import { nowSeconds } from '../ids';
import type { OptionsStore } from '../options';
import { validateBatchInput } from './batchInput';
import { BatchIo } from './batchIo';
import { addUsage, expiredRecord, resultRecord, type LineResult } from './batchRecords';
import type { BatchError, BatchObject } from '../openaiObjects';
import { isTerminal } from './batchTypes';
import { StepQueue } from './stepQueue';

/** Lines per slice: bounded so one slice never holds the event loop for long. */
const SLICE_LINES = 250;

export interface BatchRunContext {
  files: FileStore;
  options: OptionsStore;
  /** The same deterministic handler the realtime endpoints use. */
  execute(endpoint: string, body: unknown): LineResult;
}

/**
 * Drives one batch through its lifecycle on timers: validating -> in_progress
 * -> finalizing -> completed, or failed / expired / cancelling -> cancelled.
 * Steps run on a StepQueue so they never interleave; `status` is the only
 * state the HTTP side changes directly (cancel shows `cancelling` at once).
 */
export class BatchRun {
  private readonly steps = new StepQueue((err) => this.internalError(err));
  private io: BatchIo | undefined;
  private processed = 0;
  private credit = 0;
  private lastTick = 0;

  constructor(
    readonly batch: BatchObject,
    private readonly ctx: BatchRunContext,
  ) {}

  start(): void {
    const options = this.ctx.options.current;
    this.steps.schedule(() => this.validate(), options.batchValidatingMs);
    this.steps.schedule(() => this.expire(), options.completionWindowMs);
  }

  /** Returns false when the batch is past the point where it can be cancelled. */
  requestCancel(): boolean {
    const status = this.batch.status;
    if (status === 'cancelling') return true;
    if (status !== 'validating' && status !== 'in_progress') return false;
    this.batch.status = 'cancelling';
    this.batch.cancelling_at = nowSeconds();
    this.steps.schedule(() => this.finish('cancelling', 'cancelled'), this.ctx.options.current.batchFinalizingMs);
    return true;
  }

  /** Stop timers, wait for the running step, release files. Output is not published. */
  async close(): Promise<void> {
    await this.steps.close();
    await this.io?.close();
  }

  private async validate(): Promise<void> {
    if (this.batch.status !== 'validating') return;
    const file = this.ctx.files.get(this.batch.input_file_id);
    const path = file === undefined ? undefined : this.ctx.files.contentPath(file.id);
    if (
      path === undefined ||
      !(await access(path).then(
        () => true,
        () => false,
      ))
    ) {
      const message = `Input file ${this.batch.input_file_id} was not found.`;
      await this.fail([{ code: 'file_not_found', message, param: 'input_file_id', line: null }]);
      return;
    }
    const result = await validateBatchInput(path, this.batch.endpoint, this.ctx.options.current.maxBatchLines);
    if (this.batch.status !== 'validating') return;
    this.batch.model = result.model;
    if (result.errors.length > 0) {
      await this.fail(result.errors);
      return;
    }
    this.io = await BatchIo.open(this.ctx.files, path, this.batch.id);
    this.batch.request_counts.total = result.total;
    this.batch.status = 'in_progress';
    this.batch.in_progress_at = nowSeconds();
    this.lastTick = Date.now();
    this.steps.schedule(() => this.tick(), 0);
  }

  /** Process as many lines as the configured speed allows since the last tick. */
  private async tick(): Promise<void> {
    const io = this.io;
    if (this.batch.status !== 'in_progress' || io === undefined) return;
    const rate = this.ctx.options.current.batchLinesPerSecond;
    const now = Date.now();
    this.credit += ((now - this.lastTick) * rate) / 1000;
    this.lastTick = now;

    const counts = this.batch.request_counts;
    let outText = '';
    let errorText = '';
    let completed = 0;
    let failed = 0;
    let budget = Math.min(Math.floor(this.credit), SLICE_LINES);
    while (budget > 0 && this.batch.status === 'in_progress' && this.processed < counts.total) {
      const line = await io.reader.next();
      if (line === undefined) break;
      budget -= 1;
      this.credit -= 1;
      this.processed += 1;
      const result = this.ctx.execute(this.batch.endpoint, line.body);
      if (result.statusCode === 200) {
        outText += resultRecord(line.customId, result);
        completed += 1;
        addUsage(this.batch.usage, result.body);
      } else {
        errorText += resultRecord(line.customId, result);
        failed += 1;
      }
    }
    await io.output.write(outText);
    await io.errors.write(errorText);
    counts.completed += completed;
    counts.failed += failed;

    if (this.batch.status !== 'in_progress') return; // cancelled meanwhile
    if (this.processed >= counts.total) {
      this.batch.status = 'finalizing';
      this.batch.finalizing_at = nowSeconds();
      this.steps.schedule(() => this.finish('finalizing', 'completed'), this.ctx.options.current.batchFinalizingMs);
    } else {
      // Behind schedule: continue on the next macrotask; otherwise wait for more credit.
      this.steps.schedule(() => this.tick(), this.credit >= 1 ? 0 : Math.min(50, Math.max(5, 1000 / rate)));
    }
  }

  /** The window closed: keep what finished, report every other request as batch_expired. */
  private async expire(): Promise<void> {
    const status = this.batch.status;
    if (status !== 'validating' && status !== 'in_progress') return;
    if (this.io !== undefined) {
      let text = '';
      for (let line = await this.io.reader.next(); line !== undefined; line = await this.io.reader.next()) {
        text += expiredRecord(line.customId);
        this.batch.request_counts.failed += 1;
        if (text.length > 1 << 20) {
          await this.io.errors.write(text);
          text = '';
        }
      }
      await this.io.errors.write(text);
    }
    await this.publishAndSettle('expired');
  }

  private async finish(from: 'finalizing' | 'cancelling', to: 'completed' | 'cancelled'): Promise<void> {
    if (this.batch.status !== from) return;
    await this.publishAndSettle(to);
  }

  private async publishAndSettle(status: 'completed' | 'cancelled' | 'expired'): Promise<void> {
    const files = await this.io?.publish();
    this.batch.output_file_id = files?.outputFileId ?? null;
    this.batch.error_file_id = files?.errorFileId ?? null;
    this.batch.status = status;
    this.batch[`${status}_at`] = nowSeconds();
    this.steps.clearTimers();
  }

  private async fail(errors: BatchError[]): Promise<void> {
    if (isTerminal(this.batch.status)) return;
    await this.io?.discard();
    this.batch.errors = { object: 'list', data: errors };
    this.batch.status = 'failed';
    this.batch.failed_at = nowSeconds();
    this.steps.clearTimers();
  }

  private async internalError(err: unknown): Promise<void> {
    console.error(`[provider] batch ${this.batch.id} failed internally`, err);
    await this.fail([
      { code: 'internal_error', message: 'The simulator failed to process this batch.', param: null, line: null },
    ]);
  }
}
