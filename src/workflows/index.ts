export { batchWorkflow } from './batch';
export { nativeBatchWorkflow, providerBatchWorkflow } from './native';
