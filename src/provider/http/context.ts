import type { BatchManager } from '../batches/batch-manager';
import type { FaultInjector } from '../faults';
import type { FileStore } from '../files/file-store';
import type { OptionsStore } from '../options';
import type { RateLimiter } from '../rate-limiter';
import type { StatsCollector } from '../stats';
import type { PendingResponses } from './pending';

/** Everything the HTTP layer needs; built once per simulator. */
export interface SimulatorContext {
  options: OptionsStore;
  stats: StatsCollector;
  limiter: RateLimiter;
  faults: FaultInjector;
  files: FileStore;
  batches: BatchManager;
  pending: PendingResponses;
}
