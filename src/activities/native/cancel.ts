/** Cancel: asks the provider to stop a provider batch; what it finished is collected afterwards. */
import OpenAI from 'openai';
import type { ProviderBatchStatus } from '../../shared/native';
import { providerFailure, withHeartbeat, withProviderFailure } from './providerCall';
import type { NativeActivityDeps } from './types';

export function createCancelActivities({ openai }: NativeActivityDeps) {
  return {
    /** Asks the provider to cancel; a batch already past cancelling (409) is left as it is. */
    async cancelProviderBatch({
      providerBatchId,
    }: {
      providerBatchId: string;
    }): Promise<{ status: ProviderBatchStatus }> {
      return withHeartbeat(
        () => providerBatchId,
        async () => {
          try {
            return { status: (await openai.batches.cancel(providerBatchId)).status };
          } catch (err) {
            if (err instanceof OpenAI.APIError && err.status === 409) {
              const b = await withProviderFailure(`retrieve ${providerBatchId}`, 'ProviderBatchNotFound', () =>
                openai.batches.retrieve(providerBatchId),
              );
              return { status: b.status };
            }
            throw providerFailure(err, `cancel ${providerBatchId}`, 'ProviderBatchNotFound');
          }
        },
      );
    },
  };
}
