import type { BatchCarry } from '../../shared/contracts';
import { addCounts, emptyCounts, type ChunkCounts } from '../../shared/counts';

/**
 * A chunk's report (everything recorded for it), less what it held when its dead letters were reopened,
 * which the batch still counts: what it adds. A chunk that was not reopened adds its whole report.
 */
export function addedBy(state: BatchCarry, chunk: number, report: ChunkCounts): ChunkCounts {
  const kept = state.retry?.kept[chunk];
  if (!kept) return report;
  delete state.retry?.kept[chunk];
  return addCounts(addCounts(emptyCounts(), report), kept, -1);
}
