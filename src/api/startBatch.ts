/**
 * Starts a stored batch as its workflow (`batch-<id>`), as its plan says: realtime, or native. The start
 * gives the Web UI what it shows of the batch: its search attributes (when the server has them), a static
 * summary and static details.
 */
import type { Client, WorkflowStartOptions } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { batchWorkflowId, DEFAULT_PRIORITY } from '../shared/contracts';
import { SearchAttributeKeys } from '../shared/searchAttributes';
import type { BatchManifest } from '../storage/types';
// Types only: the API names a workflow by its exported name and never loads workflow code.
import type * as workflows from '../workflows';
import type { BatchPlan } from './plan';
import { searchAttributesRegistered } from './searchAttributes';

export interface StartedBatch {
  id: string;
  total: number;
  mode: 'realtime' | 'native';
  modeReason: string | null;
  /** `scheduled`: it waits for its notBefore time. */
  status: 'running' | 'scheduled';
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

const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** `/v1/chat/completions` → `chat`: the summary's word for an endpoint. */
const endpointWord = (endpoint: string): string =>
  endpoint === '/v1/chat/completions' ? 'chat' : endpoint.replace(/^\/v1\//, '');

/** The Web UI's one-line summary, e.g. "1,000 × gpt-4o-mini chat · realtime · tenant acme". */
export function batchSummary(plan: BatchPlan, total: number, tenant: string | undefined): string {
  const who = tenant === undefined ? '' : ` · tenant ${tenant}`;
  return `${thousands(total)} × ${plan.labels.model} ${endpointWord(plan.labels.endpoint)} · ${plan.mode}${who}`;
}

/** The Web UI's static details (Temporal markdown): what the batch was started with. Never a body or a URL. */
export function batchDetails(plan: BatchPlan, manifest: BatchManifest): string {
  const { input } = plan;
  const lines = [
    `**batch** ${manifest.batchId}, created ${manifest.createdAt}`,
    `**items** ${thousands(manifest.total)} in ${thousands(manifest.chunkCount)} chunks of ≤ ${manifest.chunkSize}`,
    `**mode** ${plan.mode}${plan.modeReason ? `: ${plan.modeReason}` : ''}`,
    `**priority** ${input.priority ?? DEFAULT_PRIORITY} at start (LlmbatchPriority is the current one)`,
  ];
  if (input.notBeforeMs !== undefined) lines.push(`**starts** not before ${new Date(input.notBeforeMs).toISOString()}`);
  if (plan.mode === 'realtime') {
    const { lane, maxChunksInFlight, maxAttempts, budgetUsd, retryGraceMs } = plan.input;
    lines.push(`**lane** ${lane ? lane.taskQueue : `the default queue (${plan.taskQueue})`}`);
    lines.push(`**chunks in flight** up to ${maxChunksInFlight}; attempts per item ${maxAttempts ?? 5}`);
    if (budgetUsd !== undefined) lines.push(`**budget** ${budgetUsd} USD`);
    if (retryGraceMs)
      lines.push(
        `**retry** dead letters can be re-run for ${Math.round(retryGraceMs / 60_000)} min after the end: ` +
          'signal `retryDeadLetters`',
      );
  } else {
    lines.push(`**provider batches** up to ${plan.input.maxInFlight ?? 'the default number'} at once`);
  }
  return lines.join('\n');
}

/** `scheduled` while the batch waits for its notBefore time (the workflow says so too, from the same input). */
const startStatus = (plan: BatchPlan, nowMs: number): StartedBatch['status'] =>
  plan.input.notBeforeMs !== undefined && plan.input.notBeforeMs > nowMs ? 'scheduled' : 'running';

function searchAttributes(
  plan: BatchPlan,
  tenant: string | undefined,
  status: string,
  scheduleId: string | undefined,
): SearchAttributePair[] {
  const schedule = scheduleId === undefined ? [] : [{ key: SearchAttributeKeys.scheduleId, value: scheduleId }];
  return [
    ...schedule,
    { key: SearchAttributeKeys.tenant, value: tenant ?? 'none' },
    { key: SearchAttributeKeys.mode, value: plan.mode },
    { key: SearchAttributeKeys.status, value: status },
    { key: SearchAttributeKeys.model, value: plan.labels.model },
    // The workflow keeps it current from this value: the two must agree at the start.
    { key: SearchAttributeKeys.priority, value: plan.input.priority ?? DEFAULT_PRIORITY },
  ];
}

/** `scheduleId`: the schedule whose run creates it, kept in its search attribute LlmbatchScheduleId. */
export async function startBatch(
  client: Client,
  plan: BatchPlan,
  manifest: BatchManifest,
  scheduleId?: string,
): Promise<StartedBatch> {
  const { batchId, total, chunkCount } = manifest;
  const tenant = plan.input.tenant;
  const status = startStatus(plan, Date.now());
  const options = {
    workflowId: batchWorkflowId(batchId),
    taskQueue: plan.taskQueue,
    staticSummary: batchSummary(plan, total, tenant),
    staticDetails: batchDetails(plan, manifest),
    // Only on a server that has them: it refuses a start with an unregistered one.
    ...((await searchAttributesRegistered(client))
      ? { typedSearchAttributes: searchAttributes(plan, tenant, status, scheduleId) }
      : {}),
  };
  if (plan.mode === 'native') {
    const input = { ...plan.input, batchId, total, chunkCount };
    await startWorkflow(client, 'nativeBatchWorkflow', { ...options, args: [input] });
  } else {
    const input = { ...plan.input, batchId, total, chunkCount, chunkSize: manifest.chunkSize };
    await startWorkflow(client, 'batchWorkflow', { ...options, args: [input] });
  }
  return { id: batchId, total, mode: plan.mode, modeReason: plan.modeReason, status };
}
