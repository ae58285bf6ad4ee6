/**
 * The counts a batch adds up from its chunks' reports: items by outcome, tokens, cache hits, and what
 * structured outputs and pipeline steps add. One definition of the arithmetic, shared by the workflow
 * (adding reports), finishBatch's recount and the retry of dead letters (taking back what a chunk held).
 */

/** Per pipeline step: items that got past it, and items stopped at it (a dead letter naming the step). */
export type StepCounts = Record<string, { succeeded: number; failed: number }>;

/** Counts of some chunks' results, as the batch workflow keeps them. */
export interface ChunkCounts {
  succeeded: number;
  failed: number;
  tokensIn: number;
  tokensOut: number;
  cacheHits: number;
  /** Repair requests sent for answers that failed their schema (absent in reports older than them). */
  repaired?: number;
  /** Items whose answer was still invalid after the last repair: `invalid_output` dead letters. */
  invalidOutput?: number;
  /** Pipelines only. */
  steps?: StepCounts;
}

export const emptyCounts = (): ChunkCounts => ({ succeeded: 0, failed: 0, tokensIn: 0, tokensOut: 0, cacheHits: 0 });

function addSteps(into: StepCounts | undefined, from: StepCounts | undefined, sign: number): StepCounts | undefined {
  if (!from) return into;
  const sum: StepCounts = { ...into };
  for (const [name, c] of Object.entries(from)) {
    const was = sum[name] ?? { succeeded: 0, failed: 0 };
    sum[name] = { succeeded: was.succeeded + sign * c.succeeded, failed: was.failed + sign * c.failed };
  }
  return sum;
}

/** Adds `from` into `into` (sign -1: takes it off); returns `into`. Optional counts appear once non-zero. */
export function addCounts<C extends ChunkCounts>(into: C, from: ChunkCounts, sign: 1 | -1 = 1): C {
  into.succeeded += sign * from.succeeded;
  into.failed += sign * from.failed;
  into.tokensIn += sign * from.tokensIn;
  into.tokensOut += sign * from.tokensOut;
  // Absent from the reports of activities older than the cache, structured outputs and pipelines.
  into.cacheHits = (into.cacheHits ?? 0) + sign * (from.cacheHits ?? 0);
  if (from.repaired) into.repaired = (into.repaired ?? 0) + sign * from.repaired;
  if (from.invalidOutput) into.invalidOutput = (into.invalidOutput ?? 0) + sign * from.invalidOutput;
  const steps = addSteps(into.steps, from.steps, sign);
  if (steps) into.steps = steps;
  return into;
}
