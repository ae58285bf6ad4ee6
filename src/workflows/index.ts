export { batchWorkflow } from './batch';
export { nativeBatchWorkflow, providerBatchWorkflow } from './native';
export { webhookWorkflow } from './webhook';
