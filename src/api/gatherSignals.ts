/**
 * Hands request ids to their gatherer: signal-with-start, one call at a time per gatherer and process, each
 * carrying every id that arrived while the call before was in flight (a group commit). One signal per request
 * would cost the gatherer a workflow task each, and those run one at a time: under load the queue of tasks, not
 * max wait, would decide when a batch forms. Each id's promise settles once Temporal has accepted the signal
 * carrying it, so a request is answered only when it is durable.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { gatherSignal, gatherWorkflowId, type GatherWorkflowInput } from '../shared/gather';
// Types only: the API names a workflow by its exported name and never loads workflow code.
import type * as workflows from '../workflows';

/** Ids per signal at most: a signal stays a few KB however many requests arrive at once. */
const MAX_IDS_PER_SIGNAL = 500;

interface Waiting {
  id: string;
  done: (err?: Error) => void;
}

export class GatherSignals {
  private readonly queues = new Map<string, Waiting[]>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  /** Resolves once the gatherer of `input` has the signal carrying `id`. */
  send(input: GatherWorkflowInput, id: string): Promise<void> {
    const workflowId = gatherWorkflowId(input.tenant, input.lane);
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(workflowId) ?? [];
      this.queues.set(workflowId, queue);
      queue.push({ id, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.busy.has(workflowId)) void this.drain(workflowId, input);
    });
  }

  private async drain(workflowId: string, input: GatherWorkflowInput): Promise<void> {
    this.busy.add(workflowId);
    try {
      for (let queue = this.queues.get(workflowId); queue?.length; queue = this.queues.get(workflowId)) {
        const sending = queue.splice(0, MAX_IDS_PER_SIGNAL);
        try {
          await this.client.workflow.signalWithStart<typeof workflows.gatherWorkflow, [{ ids: string[] }]>(
            'gatherWorkflow',
            {
              workflowId,
              taskQueue: this.config.temporal.taskQueue,
              args: [input],
              signal: gatherSignal,
              signalArgs: [{ ids: sending.map((w) => w.id) }],
              staticSummary: `single requests of tenant ${input.tenant} on lane ${input.lane}, gathered into batches`,
            },
          );
          for (const w of sending) w.done();
        } catch (err) {
          const failure = err instanceof Error ? err : new Error(`signal-with-start failed: ${String(err)}`);
          for (const w of sending) w.done(failure);
        }
      }
    } finally {
      this.busy.delete(workflowId);
      this.queues.delete(workflowId);
    }
  }
}
