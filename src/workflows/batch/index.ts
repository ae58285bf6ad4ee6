export { batchWorkflow } from './workflow';
