/** Create: the provider batch for an uploaded file, at most once per child workflow id. */
import type OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import { FailureType } from '../../shared/failures';
import { PROVIDER_BATCH_METADATA_KEY } from '../../shared/native';
import { withHeartbeat, withProviderFailure } from './providerCall';
import type { CreateInput, CreateResult, NativeActivityDeps } from './types';

/** Newest first; batches older than `notBefore` cannot be ours, so the scan stops there. */
async function findProviderBatch(openai: OpenAI, workflowId: string, notBefore: number): Promise<Batch | undefined> {
  for await (const b of openai.batches.list({ limit: 100 })) {
    if (b.metadata?.[PROVIDER_BATCH_METADATA_KEY] === workflowId) return b;
    if (b.created_at < notBefore) return undefined;
  }
  return undefined;
}

export function createCreateActivities({ openai, config = {} }: NativeActivityDeps) {
  const slack = config.lookupSlackSeconds ?? 300;
  return {
    /**
     * Creates the provider batch at most once per workflow id. A previous attempt may have created it and
     * lost the answer (timeout, worker killed), so look it up by metadata first and create only if absent.
     */
    async createProviderBatch({
      batchId,
      workflowId,
      fileId,
      endpoint,
      notBefore,
    }: CreateInput): Promise<CreateResult> {
      return withHeartbeat(
        () => workflowId,
        async () => {
          const existing = await withProviderFailure(
            `list batches for ${workflowId}`,
            FailureType.ProviderBatchRejected,
            () => findProviderBatch(openai, workflowId, notBefore - slack),
          );
          if (existing) return { providerBatchId: existing.id, status: existing.status, created: false };
          const b = await withProviderFailure(`create batch ${workflowId}`, FailureType.ProviderBatchRejected, () =>
            openai.batches.create({
              input_file_id: fileId,
              endpoint,
              // The only window the Batch API offers; what it costs and how long it takes is the provider's.
              completion_window: '24h',
              metadata: { [PROVIDER_BATCH_METADATA_KEY]: workflowId, llmbatch_batch: batchId },
            }),
          );
          return { providerBatchId: b.id, status: b.status, created: true };
        },
      );
    },
  };
}
