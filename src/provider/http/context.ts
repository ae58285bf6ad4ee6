import type { BatchManager } from '../batches/batchManager';
import type { FaultInjector } from '../faults';
import type { FileStore } from '../files/fileStore';
import type { OptionsStore } from '../options';
import type { RateLimiter } from '../rateLimiter';
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
