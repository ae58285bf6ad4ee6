/**
 * Waits for a provider batch's terminal status: one poll activity at a time, whose retry timers are the
 * waits between polls. A cancel interrupts the wait, goes to the provider, and polling starts over.
 */
import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { PollReport } from '../../activities/native';
import { isTerminalStatus, type ProviderBatchInput, type ProviderBatchProgress } from '../../shared/native';
import { pollActivity, type StepActivities } from './activityProxies';

export class ProviderBatchPoller {
  private readonly poll: ReturnType<typeof pollActivity>;
  /** The running poll's scope: a cancel request cancels it, so the loop can send the cancel at once. */
  private scope: CancellationScope | undefined;
  private report: PollReport | undefined;
  private cancelSent = false;
  /** Polls made in the current backoff ramp. */
  private rampPolls = 0;
  private deferFirst = false;

  constructor(
    private readonly input: ProviderBatchInput,
    /** The workflow's progress: the poller updates its status, counts and polls. */
    private readonly state: ProviderBatchProgress,
    private readonly providerBatchId: string,
    private readonly cancelProviderBatch: StepActivities['cancelProviderBatch'],
  ) {
    this.poll = pollActivity(input.poll, input.activityTaskQueue);
  }

  /** A cancel was requested: stop waiting for the next poll. */
  interrupt(): void {
    this.scope?.cancel();
  }

  async untilTerminal(): Promise<PollReport> {
    const { state, providerBatchId } = this;
    while (this.report === undefined || !isTerminalStatus(this.report.status)) {
      if (state.cancelRequested && !this.cancelSent) {
        state.status = (await this.cancelProviderBatch({ providerBatchId })).status;
        this.cancelSent = true;
        // Cancelling takes its own time (up to 10 min on OpenAI): poll now, then ramp up again.
        this.rampPolls = 0;
        this.deferFirst = false;
      }
      const scope = new CancellationScope();
      this.scope = scope;
      const last = this.lastSeen();
      let report: PollReport;
      try {
        report = await scope.run(() =>
          this.poll({
            providerBatchId,
            policy: this.input.poll,
            rampPolls: this.rampPolls,
            deferFirst: this.deferFirst,
            last,
          }),
        );
      } catch (err) {
        if (isCancellation(err) && state.cancelRequested) continue; // cancel arrived while waiting: send it now
        throw err;
      } finally {
        this.scope = undefined;
      }
      this.report = report;
      this.rampPolls += report.polls;
      state.polls += report.polls;
      state.status = report.status;
      state.requestCounts = report.requestCounts;
      this.deferFirst = true;
    }
    return this.report;
  }

  /** What the workflow last heard, so that the poll reports only a change. */
  private lastSeen(): { status: string; completed: number; failed: number } | null {
    const r = this.report;
    return r ? { status: r.status, completed: r.requestCounts.completed, failed: r.requestCounts.failed } : null;
  }
}
