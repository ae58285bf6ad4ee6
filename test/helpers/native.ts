/** A worker with the realtime and native activities, a store and a task queue of its own, on a test dev server. */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundlePath } from '@temporalio/worker';
import type OpenAI from 'openai';
import { createActivities } from '../../src/activities';
import { createNativeActivities } from '../../src/activities/native';
import { FileBatchStore } from '../../src/storage/fileStore';
import type { BatchStore } from '../../src/storage/types';

export interface NativeWorkerOptions {
  openai: OpenAI;
  store?: BatchStore;
  taskQueue?: string;
  maxConcurrentActivityTaskExecutions?: number;
}

export async function nativeWorker(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundlePath,
  opts: NativeWorkerOptions,
) {
  const store = opts.store ?? new FileBatchStore(await mkdtemp(join(tmpdir(), 'llmbatch-native-')));
  const taskQueue = opts.taskQueue ?? `native-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: {
      ...createActivities({ openai: opts.openai, store, config: { itemConcurrency: 16, requestConcurrency: 64 } }),
      ...createNativeActivities({ openai: opts.openai, store }),
    },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    // As in createWorker: cancellation reaches activities through heartbeats.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  return { worker, store, taskQueue };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Events in a workflow's history. */
export async function historyLength(env: TestWorkflowEnvironment, workflowId: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.length ?? 0;
}

/**
 * Per activity type, how long each of a workflow's activities took from scheduled to completed (its
 * retries included), in history order: where a run's time went, without instrumenting the code.
 */
export async function activityDurations(
  env: TestWorkflowEnvironment,
  workflowId: string,
): Promise<Record<string, number[]>> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const ms = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number =>
    Number(String(t?.seconds ?? 0)) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  const scheduled = new Map<string, { type: string; at: number }>();
  const out: Record<string, number[]> = {};
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: ms(e.eventTime) });
    const c = e.activityTaskCompletedEventAttributes;
    const from = c && scheduled.get(String(c.scheduledEventId));
    if (from) (out[from.type] ??= []).push(ms(e.eventTime) - from.at);
  }
  return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
