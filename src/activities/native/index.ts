/**
 * Native mode activities: plan provider batches over the store's chunks, upload a plan's pending lines
 * as a JSONL file, create the provider batch idempotently, poll it, cancel it, and stream its output and
 * error files into the store. Bodies stay here and in the store; workflows see ids and counts only.
 * One group per file; the worker registers them as one object, by the activities' names.
 */
import { createCancelActivities } from './cancel';
import { createCollectActivities } from './collect';
import { createCreateActivities } from './create';
import { createFallbackActivities } from './fallback';
import { createPlanActivities } from './plan';
import { createPollActivities } from './poll';
import type { NativeActivityDeps } from './types';
import { createUploadActivities } from './upload';

export { isFinalLine } from './collect';
export type * from './types';

export function createNativeActivities(deps: NativeActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createUploadActivities(deps),
    ...createCreateActivities(deps),
    ...createPollActivities(deps),
    ...createCancelActivities(deps),
    ...createCollectActivities(deps),
    ...createFallbackActivities(deps),
  };
}

export type NativeActivities = ReturnType<typeof createNativeActivities>;
