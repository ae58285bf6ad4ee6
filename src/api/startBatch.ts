/** Starts a stored batch as its workflow (`batch-<id>`), as its plan says: realtime, or native. */
import type { Client, WorkflowStartOptions } from '@temporalio/client';
import { batchWorkflowId } from '../shared/contracts';
import type { BatchManifest } from '../storage/types';
// Types only: the API names a workflow by its exported name and never loads workflow code.
import type * as workflows from '../workflows';
import type { BatchPlan } from './plan';

export interface StartedBatch {
  id: string;
  total: number;
  mode: 'realtime' | 'native';
  modeReason: string | null;
}

type Workflows = typeof workflows;

/**
 * Starts the workflow exported as `type`, its arguments checked against that function's. The worker
 * registers workflows by their exported names, so the name cannot drift from the function it types.
 */
export async function startWorkflow<K extends keyof Workflows>(
  client: Client,
  type: K,
  options: WorkflowStartOptions<Workflows[K]>,
): Promise<void> {
  await client.workflow.start<Workflows[K]>(type, options);
}

export async function startBatch(client: Client, plan: BatchPlan, manifest: BatchManifest): Promise<StartedBatch> {
  const { batchId, total, chunkCount } = manifest;
  // The Web UI shows the summary: the mode and, when auto chose it, why.
  const reason = plan.modeReason ? ` (${plan.modeReason})` : '';
  const options = {
    workflowId: batchWorkflowId(batchId),
    taskQueue: plan.taskQueue,
    staticSummary: `${plan.mode}${reason}: ${total} items`,
  };
  if (plan.mode === 'native') {
    const input = { ...plan.input, batchId, total, chunkCount };
    await startWorkflow(client, 'nativeBatchWorkflow', { ...options, args: [input] });
  } else {
    const input = { ...plan.input, batchId, total, chunkCount, chunkSize: manifest.chunkSize };
    await startWorkflow(client, 'batchWorkflow', { ...options, args: [input] });
  }
  return { id: batchId, total, mode: plan.mode, modeReason: plan.modeReason };
}
