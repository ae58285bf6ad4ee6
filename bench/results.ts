/** What the timed scenarios measured, for the report (report.ts) and its explanations (explain.ts). */
import type { CpuSample } from './cpu';
import type { EngineTimes } from './history';
import type { Curve } from './progress';
import type { BatchRun, EngineSettings, StoreKind } from './stack';

export interface ThroughputResult {
  name: string;
  store: StoreKind;
  n: number;
  concurrency: number;
  engine: EngineSettings;
  /** The median runs (by rate): the figures and analyses below come from these. */
  loop: { ms: number; rps: number; meanLatencyMs: number; cpu: CpuSample; curve: Curve; calls: number };
  llm: BatchRun & { rps: number; cpu: CpuSample; curve: Curve; calls: number; chunks: number; times: EngineTimes };
  /** Rates of every repeat, in run order. */
  runs: { loop: number[]; llm: number[] };
  ratio: number;
  target: number;
  pass: boolean;
  /** PostgreSQL beside the file store in the same run: its ratio must be within 10% of the file store's. */
  relative?: { fileRatio: number; min: number; pass: boolean };
}

export interface SmallResult {
  store: StoreKind;
  runs: number;
  size: number;
  pollMs: number;
  loop: { medianMs: number; p90Ms: number };
  llm: { medianMs: number; p90Ms: number };
  /** Median of each phase over the runs, in order. */
  breakdown: Record<string, number>;
  target: number;
  pass: boolean;
}
