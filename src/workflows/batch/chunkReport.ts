import type { BatchCarry } from '../../shared/contracts';
import type { ChunkCounts } from '../../shared/retry';

/**
 * A chunk's report (everything recorded for it), less what it held when its dead letters were reopened,
 * which the batch still counts: what it adds. A chunk that was not reopened adds its whole report.
 */
export function addedBy<R extends ChunkCounts>(state: BatchCarry, chunk: number, report: R): ChunkCounts {
  const kept = state.retry?.kept[chunk];
  if (!kept) return report;
  delete state.retry?.kept[chunk];
  return {
    succeeded: report.succeeded - kept.succeeded,
    failed: report.failed - kept.failed,
    tokensIn: report.tokensIn - kept.tokensIn,
    tokensOut: report.tokensOut - kept.tokensOut,
    cacheHits: (report.cacheHits ?? 0) - kept.cacheHits,
  };
}
