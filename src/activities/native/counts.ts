/**
 * The worker metrics of a native collection: its items by outcome, tokens and cost, summed as lines are recorded
 * and reported once the last of them is in the store. A collection that fails midway and is retried counts only
 * what its retry records (the rest is skipped as recorded): a crash can lose counts, never double them.
 */
import type { ItemMetrics, WorkerMetrics } from '../../metrics/workerMetrics';
import type { BatchOutputLine, ModelPrice } from '../../shared/contracts';
import type { ProviderEndpoint } from '../../shared/native';
import { isSuccess } from '../../storage/types';
import { tokensOf } from '../chunkSummary';

/** Who the items are for: their tenant and model, and the model's price (absent: unpriced). */
export interface CountLabels {
  tenant: string | undefined;
  model: string | undefined;
  endpoint: ProviderEndpoint;
  price: ModelPrice | undefined;
}

const add = (m: Map<string, number>, key: string): void => void m.set(key, (m.get(key) ?? 0) + 1);

/** A failed line's code: the error's, else the code in the answer's body, else its HTTP status. */
function codeOf(line: BatchOutputLine): string {
  if (line.error) return line.error.code;
  const body = line.response?.body as { error?: { code?: unknown } } | null | undefined;
  const code = body?.error?.code;
  return typeof code === 'string' && code ? code : `http_${line.response?.status_code ?? 'unknown'}`;
}

export class NativeCounts {
  private readonly ok = { items: 0, tokensIn: 0, tokensOut: 0 };
  private readonly failed = new Map<string, number>();
  private readonly deadLettered = new Map<string, number>();

  /** `final`: a failure that is the request's own (failed); else one no round is left to retry (dead letter). */
  add(line: BatchOutputLine, final: boolean): void {
    if (isSuccess(line)) {
      const t = tokensOf(line);
      this.ok.items += 1;
      this.ok.tokensIn += t.tokensIn;
      this.ok.tokensOut += t.tokensOut;
    } else add(final ? this.failed : this.deadLettered, codeOf(line));
  }

  report(metrics: WorkerMetrics, { tenant, model, endpoint, price }: CountLabels): void {
    const items: ItemMetrics = metrics.items({ tenant, model, endpoint, mode: 'native' });
    if (this.ok.items > 0) items.succeeded(this.ok.tokensIn, this.ok.tokensOut, price, this.ok.items);
    for (const [code, n] of this.failed) items.failed(code, n);
    for (const [code, n] of this.deadLettered) items.deadLettered(code, n);
  }
}
