/**
 * What the /v1 routes share: a batch's OpenAI record and state, and the virtual output and error files
 * served from its results.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../../config';
import type { BatchOutputLine } from '../../shared/contracts';
import type { FileStore } from '../../storage/files';
import { isSuccess, type BatchStore } from '../../storage/types';
import type { BatchCreator } from '../createBatch';
import { ownedBatch } from '../owner';
import { readProgress } from '../progress';
import { notFound } from './errors';
import { BATCH_ID, type ResultKind } from '../ids';
import {
  batchObject,
  fileObject,
  isFinal,
  OPENAI_RECORD,
  OpenAIBatchRecordSchema,
  type BatchObject,
  type BatchState,
  type FileObject,
  type OpenAIBatchRecord,
} from './objects';

export interface V1Deps {
  client: Client;
  store: BatchStore;
  files: FileStore;
  config: Config;
  creator: BatchCreator;
}

/** One result as a line of OpenAI's batch output (or error) file. */
export const outputLine = (r: BatchOutputLine): string =>
  `${JSON.stringify({ id: r.id, custom_id: r.custom_id, response: r.response, error: r.error })}\n`;

export class V1Service {
  constructor(readonly deps: V1Deps) {}

  /** The batch's OpenAI record, if it is a /v1 batch of `tenant`. */
  async record(tenant: string, batchId: string): Promise<OpenAIBatchRecord | undefined> {
    if (!BATCH_ID.test(batchId) || !(await ownedBatch(this.deps.store, tenant, batchId))) return undefined;
    const raw = await this.deps.store.getRecord(batchId, OPENAI_RECORD);
    return raw === undefined ? undefined : OpenAIBatchRecordSchema.parse(raw);
  }

  async requireRecord(tenant: string, batchId: string): Promise<OpenAIBatchRecord> {
    const record = await this.record(tenant, batchId);
    if (!record) throw notFound(`No batch found with id '${batchId}'.`, 'batch_id');
    return record;
  }

  async state(record: OpenAIBatchRecord): Promise<BatchState> {
    if (record.start_error !== null) return { progress: null, error: record.start_error };
    const outcome = await this.deps.store.getOutcome(record.id);
    if (outcome) return { progress: outcome, final: true };
    try {
      return { progress: await readProgress(this.deps.client, this.deps.store, record.id), final: false };
    } catch (err) {
      // A record whose workflow is gone without an outcome: its start failed before it could be noted.
      if (err instanceof WorkflowNotFoundError) return { progress: null, error: 'the batch has no workflow' };
      throw err;
    }
  }

  async batch(record: OpenAIBatchRecord): Promise<BatchObject> {
    return batchObject(record, await this.state(record));
  }

  /**
   * A batch's output (successes) or error file, once the batch has ended and only if it has lines.
   * Its size is counted on first use and kept in the record: an ended batch's results do not change.
   */
  async resultFile(
    tenant: string,
    batchId: string,
    kind: ResultKind,
    id: string,
  ): Promise<{ file: FileObject; lines: () => AsyncIterable<string> } | undefined> {
    const record = await this.record(tenant, batchId);
    if (!record) return undefined;
    const state = await this.state(record);
    if (!isFinal(state)) return undefined;
    const p = state.progress;
    if ((kind === 'output' ? p.succeeded : p.failed) === 0) return undefined;
    let stats = record.result_files;
    if (!stats) {
      stats = { output: { bytes: 0, lines: 0 }, error: { bytes: 0, lines: 0 } };
      for await (const r of this.deps.store.streamResults(batchId)) {
        const s = isSuccess(r) ? stats.output : stats.error;
        s.bytes += Buffer.byteLength(outputLine(r));
        s.lines += 1;
      }
      await this.deps.store.putRecord(batchId, OPENAI_RECORD, { ...record, result_files: stats });
    }
    const store = this.deps.store;
    const file = fileObject({
      id,
      bytes: stats[kind].bytes,
      createdAt: Date.parse(p.updatedAt) || record.created_at_ms,
      filename: `${batchId}_${kind}.jsonl`,
      purpose: 'batch_output',
    });
    return {
      file,
      async *lines() {
        for await (const r of store.streamResults(batchId, kind === 'output' ? 'succeeded' : 'failed'))
          yield outputLine(r);
      },
    };
  }
}
