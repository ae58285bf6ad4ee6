import { BodyCallCounter, type BodyCallSummary } from './bodyCalls';
import type { StructuredVerdict } from './content/invalidOutput';

export interface SimStats {
  /** route -> status code (or "hung" / "aborted") -> count; control routes (/_sim, /healthz) are not counted. */
  requests: Record<string, Record<string, number>>;
  total: number;
  rateLimited: number;
  faults: { errors: number; hangs: number; malformed: number; throttled: number };
  /** Realtime calls and native batch lines, per distinct endpoint + canonical body. */
  bodies: BodyCallSummary;
  batches: { created: number; byStatus: Record<string, number> };
  /** Realtime 200 answers to json_schema requests (native batch lines are not counted). */
  structured: StructuredStats;
  /** Consumed by simulated background traffic (--background-rpm/-tpm); never counted above. */
  background: BackgroundUsage;
}

export interface StructuredStats {
  answers: number;
  /** Deliberately invalid (invalidOutputRate or the [sim:invalid-output] marker). */
  invalid: number;
  /** Answers to conversations holding an assistant turn (a repair attempt), valid or not. */
  corrections: number;
}

const noStructured = (): StructuredStats => ({ answers: 0, invalid: 0, corrections: 0 });

export interface BackgroundUsage {
  requests: number;
  tokens: number;
}

/** Counters behind GET /_sim/stats. Cheap increments only: it sits on every request. */
export class StatsCollector {
  readonly bodies = new BodyCallCounter();
  private requests = new Map<string, Map<string, number>>();
  private total = 0;
  private rateLimited = 0;
  private faults = { errors: 0, hangs: 0, malformed: 0, throttled: 0 };
  private batchesCreated = 0;
  private structured = noStructured();

  /** Background usage at the last reset; the limiter's own counts only grow. */
  private backgroundBase: BackgroundUsage;

  constructor(
    private readonly batchStatusCounts: () => Record<string, number>,
    private readonly backgroundUsage: () => BackgroundUsage = () => ({ requests: 0, tokens: 0 }),
  ) {
    this.backgroundBase = backgroundUsage();
  }

  recordResponse(route: string, outcome: number | 'hung' | 'aborted'): void {
    let byStatus = this.requests.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.requests.set(route, byStatus);
    }
    const key = String(outcome);
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    this.total += 1;
    if (outcome === 429) this.rateLimited += 1;
  }

  /** `callKey`: the faulted body, so that tests can tell which items' own calls failed. */
  recordFault(kind: 'errors' | 'hangs' | 'malformed' | 'throttled', callKey?: Buffer): void {
    this.faults[kind] += 1;
    if (callKey !== undefined) this.bodies.recordFault(callKey);
  }

  recordStructured(verdict: StructuredVerdict): void {
    this.structured.answers += 1;
    if (verdict.invalid) this.structured.invalid += 1;
    if (verdict.correction) this.structured.corrections += 1;
  }

  recordBatchCreated(): void {
    this.batchesCreated += 1;
  }

  snapshot(): SimStats {
    const requests: Record<string, Record<string, number>> = {};
    for (const [route, byStatus] of this.requests) requests[route] = Object.fromEntries(byStatus);
    return {
      requests,
      total: this.total,
      rateLimited: this.rateLimited,
      faults: { ...this.faults },
      bodies: this.bodies.summary(),
      batches: { created: this.batchesCreated, byStatus: this.batchStatusCounts() },
      structured: { ...this.structured },
      background: this.backgroundSinceReset(),
    };
  }

  private backgroundSinceReset(): BackgroundUsage {
    const now = this.backgroundUsage();
    return { requests: now.requests - this.backgroundBase.requests, tokens: now.tokens - this.backgroundBase.tokens };
  }

  /** Forget counts; live batch states (byStatus) are facts, not counters, and stay. */
  reset(): void {
    this.bodies.clear();
    this.requests = new Map();
    this.total = 0;
    this.rateLimited = 0;
    this.faults = { errors: 0, hangs: 0, malformed: 0, throttled: 0 };
    this.batchesCreated = 0;
    this.structured = noStructured();
    this.backgroundBase = this.backgroundUsage();
  }
}
