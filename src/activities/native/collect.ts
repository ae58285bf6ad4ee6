/**
 * Collect: a provider batch's output and error files streamed into the store, and dead letters for the
 * items no round is left for.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { BatchOutputLine } from '../../shared/contracts';
import type { RangeSummary } from '../../shared/native';
import { NO_WORKER_METRICS } from '../../metrics/workerMetrics';
import { NativeCounts } from './counts';
import { rangeState, ResultSink } from './planStore';
import { withHeartbeat, withProviderFailure } from './providerCall';
import type { CollectInput, NativeActivityDeps, UnfinishedInput } from './types';

/** Error codes of batch lines that say "not done", not "this request is wrong". */
const RETRYABLE_LINE_CODES = new Set([
  'batch_expired',
  'batch_cancelled',
  'server_error',
  'rate_limit_exceeded',
  'timeout',
  'internal_error',
]);
const RETRYABLE_LINE_STATUS = (s: number): boolean => s === 408 || s === 409 || s === 429 || s >= 500;

/** A line of an output or error file that is a final answer for its custom_id. */
export function isFinalLine(line: BatchOutputLine): boolean {
  if (line.error) return !RETRYABLE_LINE_CODES.has(line.error.code);
  if (!line.response) return false;
  return !RETRYABLE_LINE_STATUS(line.response.status_code);
}

/** The lines of a provider file, streamed. */
async function* fileLines(openai: OpenAI, fileId: string): AsyncIterable<BatchOutputLine> {
  const res = await withProviderFailure(`download file ${fileId}`, 'ProviderFileNotFound', () =>
    openai.files.content(fileId),
  );
  if (!res.body) return;
  const input = Readable.fromWeb(res.body);
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    if (text.trim() === '') continue;
    yield JSON.parse(text) as BatchOutputLine;
  }
}

export function createCollectActivities({ openai, store, metrics = NO_WORKER_METRICS }: NativeActivityDeps) {
  return {
    /**
     * Streams the output and error files into the store, mapped by custom_id to the chunk that holds it
     * (lines come in any order). Skips what is recorded, so a retried collection appends nothing twice
     * (the store's first-write-wins dedupe is the backstop). Retryable lines stay unrecorded for the next
     * round unless `recordRetryable`.
     */
    async collectProviderBatch(input: CollectInput): Promise<RangeSummary> {
      let read = 0;
      return withHeartbeat(
        () => ({ read }),
        async () => {
          const { chunkOf, recorded, model } = await rangeState(store, input.batchId, input.plan);
          const sink = new ResultSink(store, input.batchId);
          const counts = new NativeCounts();
          for (const fileId of [input.outputFileId, input.errorFileId]) {
            if (fileId === null) continue;
            for await (const line of fileLines(openai, fileId)) {
              read += 1;
              const chunk = chunkOf.get(line.custom_id);
              if (chunk === undefined || recorded.has(line.custom_id)) continue;
              const final = isFinalLine(line);
              if (!input.recordRetryable && !final) continue;
              await sink.add(chunk, line);
              recorded.add(line);
              counts.add(line, final);
            }
          }
          await sink.flush();
          const { tenant, price, plan } = input;
          counts.report(metrics, { tenant, model, endpoint: plan.endpoint, price });
          return recorded.summary(chunkOf.size);
        },
      );
    },

    /** Records every item of the plan still without a result as a dead letter: no round is left for it. */
    async recordUnfinished({ batchId, plan, code, message, tenant }: UnfinishedInput): Promise<RangeSummary> {
      return withHeartbeat(
        () => plan.index,
        async () => {
          const { chunkOf, recorded, model } = await rangeState(store, batchId, plan);
          const sink = new ResultSink(store, batchId);
          const counts = new NativeCounts();
          for (const [customId, chunk] of chunkOf) {
            if (recorded.has(customId)) continue;
            const line: BatchOutputLine = {
              id: `${batchId}:${customId}`,
              custom_id: customId,
              response: null,
              error: { code, message },
            };
            await sink.add(chunk, line);
            recorded.add(line);
            counts.add(line, false);
          }
          await sink.flush();
          counts.report(metrics, { tenant, model, endpoint: plan.endpoint, price: undefined });
          return recorded.summary(chunkOf.size);
        },
      );
    },
  };
}
