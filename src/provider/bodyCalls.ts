/**
 * Per-body call counts, so tests can check that a run called the model once
 * per item. Must hold ~1M bodies: keys are 12-byte digest prefixes (16 base64
 * chars) and each value packs calls and successes into one small integer,
 * which V8 stores unboxed.
 */
const SUCCESS_UNIT = 2 ** 20;
const MAX_CALLS = SUCCESS_UNIT - 1;

export interface BodyCallSummary {
  distinct: number;
  /** Bodies called more than once (retries after 429/5xx included). */
  duplicates: number;
  /** Bodies answered successfully more than once: the "exactly once" violations. */
  duplicateSuccesses: number;
  maxCallsPerBody: number;
  /** calls -> how many bodies were called that many times */
  callsHistogram: Record<string, number>;
}

export interface BodyCalls {
  calls: number;
  successes: number;
  /** Calls answered with an injected fault (5xx, hang, malformed body): the failures of that item's own calls. */
  faults: number;
}

export class BodyCallCounter {
  private readonly counts = new Map<string, number>();
  private readonly histogram = new Map<number, number>();
  /** Only bodies that were ever faulted: a small map at the fault rates tests use. */
  private readonly faults = new Map<string, number>();
  private duplicates = 0;
  private duplicateSuccesses = 0;
  private maxCalls = 0;

  static keyOf(digest: Buffer): string {
    return digest.subarray(0, 12).toString('base64');
  }

  recordCall(digest: Buffer): void {
    const key = BodyCallCounter.keyOf(digest);
    const packed = this.counts.get(key) ?? 0;
    const calls = packed % SUCCESS_UNIT;
    if (calls >= MAX_CALLS) return;
    this.counts.set(key, packed + 1);
    this.moveInHistogram(calls, calls + 1);
    if (calls + 1 === 2) this.duplicates += 1;
    this.maxCalls = Math.max(this.maxCalls, calls + 1);
  }

  /** A successful answer for a body already counted by recordCall. */
  recordSuccess(digest: Buffer): void {
    const key = BodyCallCounter.keyOf(digest);
    const packed = this.counts.get(key);
    if (packed === undefined) return;
    const successes = Math.floor(packed / SUCCESS_UNIT);
    this.counts.set(key, packed + SUCCESS_UNIT);
    if (successes + 1 === 2) this.duplicateSuccesses += 1;
  }

  /** A call of this body that got an injected fault. */
  recordFault(digest: Buffer): void {
    const key = BodyCallCounter.keyOf(digest);
    this.faults.set(key, (this.faults.get(key) ?? 0) + 1);
  }

  get(digest: Buffer): BodyCalls {
    const key = BodyCallCounter.keyOf(digest);
    const packed = this.counts.get(key) ?? 0;
    return {
      calls: packed % SUCCESS_UNIT,
      successes: Math.floor(packed / SUCCESS_UNIT),
      faults: this.faults.get(key) ?? 0,
    };
  }

  summary(): BodyCallSummary {
    const callsHistogram: Record<string, number> = {};
    for (const [calls, bodies] of [...this.histogram.entries()].sort((a, b) => a[0] - b[0])) {
      if (bodies > 0) callsHistogram[String(calls)] = bodies;
    }
    return {
      distinct: this.counts.size,
      duplicates: this.duplicates,
      duplicateSuccesses: this.duplicateSuccesses,
      maxCallsPerBody: this.maxCalls,
      callsHistogram,
    };
  }

  clear(): void {
    this.counts.clear();
    this.histogram.clear();
    this.faults.clear();
    this.duplicates = 0;
    this.duplicateSuccesses = 0;
    this.maxCalls = 0;
  }

  private moveInHistogram(from: number, to: number): void {
    if (from > 0) this.histogram.set(from, (this.histogram.get(from) ?? 1) - 1);
    this.histogram.set(to, (this.histogram.get(to) ?? 0) + 1);
  }
}
