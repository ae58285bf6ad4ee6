export { batchWorkflow } from './batch';
export { nativeBatchWorkflow } from './native';
export { providerBatchWorkflow } from './providerBatch';
export { webhookWorkflow } from './webhook';
export { scheduledBatchWorkflow } from './scheduled';
export { gatherWorkflow } from './gather';
