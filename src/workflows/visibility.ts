/**
 * What the Web UI and `temporal workflow list --query` see of a batch workflow while it runs: the search
 * attributes LlmbatchStatus and LlmbatchPriority, kept current, and the current details (live counts).
 *
 * Each upsert is an event in history, so attributes are upserted only when their value changes (a status
 * change, a new priority), never per chunk: a batch's history does not grow with its progress. The
 * current details are a workflow property read through a query, so they cost no history at all.
 */
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { BatchProgress } from '../shared/contracts';
import { SearchAttributeKeys } from '../shared/searchAttributes';

export class Visibility {
  /**
   * Only a workflow started with the attributes upserts them: the server refuses unregistered ones (a failed
   * workflow task), and a workflow started without them (a native batch's realtime fallback, a test) has
   * nothing to keep current. A continued-as-new run keeps its predecessor's attributes.
   */
  private readonly enabled: boolean;
  private status: string | undefined;
  private priority: number | undefined;

  constructor() {
    const attributes = workflowInfo().typedSearchAttributes;
    this.status = attributes.get(SearchAttributeKeys.status);
    this.priority = attributes.get(SearchAttributeKeys.priority);
    this.enabled = this.status !== undefined && this.priority !== undefined;
  }

  /** Upserts what changed since the last call (nothing, most of the time). */
  sync(status: BatchProgress['status'], priority: number): void {
    if (!this.enabled) return;
    const changes: SearchAttributeUpdatePair[] = [];
    if (status !== this.status) changes.push({ key: SearchAttributeKeys.status, value: status });
    if (priority !== this.priority) changes.push({ key: SearchAttributeKeys.priority, value: priority });
    if (changes.length === 0) return;
    upsertSearchAttributes(changes);
    this.status = status;
    this.priority = priority;
  }
}

/** 1234567 → "1,234,567", without Intl (not every workflow sandbox has its locale data). */
export function thousands(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The Web UI's "current details": the live counts, in one line of Temporal markdown. */
export function showProgress(p: BatchProgress): void {
  const done = p.succeeded + p.failed;
  const parts = [
    `**${p.status}** · ${thousands(done)} of ${thousands(p.total)} done`,
    `${thousands(p.succeeded)} succeeded · ${thousands(p.failed)} failed`,
    `${p.chunksInFlight} ${p.mode === 'native' ? 'provider batches' : 'chunks'} in flight`,
    `priority ${p.priority}`,
  ];
  if (p.costUsd !== null) parts.push(`$${p.costUsd.toFixed(4)}`);
  if (p.pauseReason) parts.push(`paused for ${p.pauseReason}`);
  setCurrentDetails(parts.join(' · '));
}
