/**
 * The data plane under load, on one stack (file store or PostgreSQL):
 *   6. POST latency with many earlier batches (postLatency.ts)
 *   5. ingest and download of `ingestLines` lines (ingestDownload.ts)
 * with the API's resident memory sampled throughout.
 */
import { ingestAndDownload, type IngestResult } from './ingestDownload';
import type { BenchOptions } from './options';
import { postLatency, type PostLatencyResult } from './postLatency';
import { simConfigure, type BenchStack, type StoreKind } from './stack';

export const TARGETS = { ingestLps: 50_000, downloadLps: 100_000, apiRssMb: 256, postRatio: 1.2 };

export interface DataResult {
  store: StoreKind;
  post?: PostLatencyResult;
  ingest?: IngestResult;
}

/**
 * Scenarios 6 then 5 on a stack that has run the throughput scenarios (their few batches are the
 * "few earlier batches"); the simulator is set to zero latency first.
 */
export async function dataScenarios(s: BenchStack, o: BenchOptions, say: (m: string) => void): Promise<DataResult> {
  await simConfigure(s.simOrigin, { latencyMedianMs: 0, latencyP99Ms: 0 });
  const post = o.earlierBatches > 0 ? await postLatency(s, o, say) : undefined;
  const ingest = o.ingestLines > 0 ? await ingestAndDownload(s, o, say) : undefined;
  return { store: s.store, post, ingest };
}
