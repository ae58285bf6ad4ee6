export { gatherWorkflow } from './workflow';
