export { providerBatchWorkflow } from './workflow';
