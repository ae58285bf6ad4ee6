export { nativeBatchWorkflow } from './workflow';
