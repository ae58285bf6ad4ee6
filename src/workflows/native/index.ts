export { providerBatchWorkflow } from '../providerBatch';
export { nativeBatchWorkflow } from './workflow';
