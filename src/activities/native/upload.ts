/** Upload: a plan's lines that have no result yet, sent to the provider as one JSONL file. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { toFile } from 'openai';
import { FailureType } from '../../shared/failures';
import type { ProviderBatchPlan } from '../../shared/native';
import type { BatchStore } from '../../storage/types';
import { forEachChunk, jsonlLine } from './planStore';
import { withHeartbeat, withProviderFailure } from './providerCall';
import type { NativeActivityDeps, UploadInput, UploadResult } from './types';

/** The plan's pending lines as JSONL, one buffer per chunk; `progress` counts them as they are read. */
async function pendingInput(
  store: BatchStore,
  batchId: string,
  plan: ProviderBatchPlan,
  progress: { lines: number; bytes: number },
): Promise<Buffer[]> {
  // One buffer per chunk, in the store's order whatever order the reads finish in. Not one per line:
  // the upload streams a Blob part by part, and 50,000 tiny parts keep the event loop in microtasks
  // for seconds, long enough on a busy machine to starve the heartbeat timer (seen: 10 s timeouts).
  const perChunk: Buffer[] = [];
  await forEachChunk(plan, async (chunk) => {
    const [input, recorded] = await Promise.all([
      store.getChunk(batchId, chunk),
      store.getChunkResults(batchId, chunk),
    ]);
    const mine: Buffer[] = [];
    for (const line of input) {
      if (line.url !== plan.endpoint || recorded.has(line.custom_id)) continue;
      mine.push(jsonlLine(line));
    }
    const joined = Buffer.concat(mine);
    perChunk[chunk - plan.firstChunk] = joined;
    progress.lines += mine.length;
    progress.bytes += joined.length;
  });
  return perChunk;
}

export function createUploadActivities({ openai, store }: NativeActivityDeps) {
  return {
    /**
     * Uploads the plan's lines that have no result yet. A retry uploads again: an orphaned file is
     * harmless (nothing refers to it), unlike a duplicate provider batch, which the create step prevents.
     */
    async uploadProviderBatchInput({ batchId, plan, workflowId, limits }: UploadInput): Promise<UploadResult> {
      const read = { lines: 0, bytes: 0 };
      return withHeartbeat(
        () => ({ lines: read.lines, bytes: read.bytes }),
        async () => {
          const perChunk = await pendingInput(store, batchId, plan, read);
          const { lines, bytes } = read;
          if (lines === 0) return { fileId: null, createdAt: 0, lines: 0, bytes: 0 };
          if (lines > limits.maxLines || bytes > limits.maxBytes) {
            // Planning keeps plans within the limits; a store whose chunks changed since is not ours to fix.
            throw ApplicationFailure.create({
              type: FailureType.NativeChunkTooLarge,
              message: `plan ${plan.index} has ${lines} lines, ${bytes} bytes: over the limits`,
              nonRetryable: true,
            });
          }
          const { cancellationSignal } = Context.current();
          const file = await withProviderFailure(`upload ${workflowId}`, FailureType.ProviderBatchRejected, async () =>
            openai.files.create(
              {
                file: await toFile(new Blob(perChunk), `${workflowId}.jsonl`, { type: 'application/jsonl' }),
                purpose: 'batch',
              },
              { signal: cancellationSignal },
            ),
          );
          return { fileId: file.id, createdAt: file.created_at, lines, bytes };
        },
      );
    },
  };
}
