/**
 * Collect: a provider batch's output and error files streamed into the store, and dead letters for the
 * items no round is left for. Structured outputs are checked here: an answer that is not valid against the
 * JSON Schema its request asks for is not recorded, and the plan's leftovers go to the realtime fallback,
 * which asks again and repairs (another provider batch would only ask the same request the same way).
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { BatchOutputLine } from '../../shared/contracts';
import type { RangeSummary } from '../../shared/native';
import { NO_WORKER_METRICS } from '../../metrics/workerMetrics';
import { answerText, OutputValidator } from '../../shared/structuredOutput';
import { NativeCounts } from './counts';
import { rangeState, ResultSink, type RangeSchemas } from './planStore';
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

/** Whether a final line is an answer its request's JSON Schema refuses (not JSON, or JSON that breaks it). */
function isInvalidAnswer(validator: OutputValidator, schemas: RangeSchemas, url: string, line: BatchOutputLine) {
  const schema = schemas.get(line.custom_id);
  if (!schema || line.error || line.response?.status_code !== 200) return false;
  return !validator.check(schema, answerText(url, line.response.body)).valid;
}

export function createCollectActivities({ openai, store, metrics = NO_WORKER_METRICS }: NativeActivityDeps) {
  // One per process: a batch's lines share a schema, compiled once.
  const validator = new OutputValidator();
  return {
    /**
     * Streams the output and error files into the store, mapped by custom_id to the chunk that holds it
     * (lines come in any order). Skips what is recorded, so a retried collection appends nothing twice
     * (the store's first-write-wins dedupe is the backstop). Retryable lines stay unrecorded for the next
     * round unless `recordRetryable`. Answers invalid against their schema stay unrecorded whatever the
     * round, counted in `toRepair`.
     */
    async collectProviderBatch(input: CollectInput): Promise<RangeSummary> {
      let read = 0;
      return withHeartbeat(
        () => ({ read }),
        async () => {
          const { batchId, plan } = input;
          const { chunkOf, recorded, model, schemas } = await rangeState(store, batchId, plan, true);
          const sink = new ResultSink(store, batchId);
          const counts = new NativeCounts();
          const toRepair = new Set<string>();
          for (const fileId of [input.outputFileId, input.errorFileId]) {
            if (fileId === null) continue;
            for await (const line of fileLines(openai, fileId)) {
              read += 1;
              const chunk = chunkOf.get(line.custom_id);
              if (chunk === undefined || recorded.has(line.custom_id)) continue;
              const final = isFinalLine(line);
              if (!input.recordRetryable && !final) continue;
              if (final && isInvalidAnswer(validator, schemas, plan.endpoint, line)) {
                toRepair.add(line.custom_id);
                continue;
              }
              await sink.add(chunk, line);
              recorded.add(line);
              counts.add(line, final);
            }
          }
          await sink.flush();
          const { tenant, price } = input;
          counts.report(metrics, { tenant, model, endpoint: plan.endpoint, price });
          const summary = recorded.summary(chunkOf.size);
          return toRepair.size > 0 ? { ...summary, toRepair: toRepair.size } : summary;
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
