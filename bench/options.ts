import { DEFAULT_PG_URL } from './postgres';
import type { StoreKind } from './stack';

/**
 * Bench settings from flags (`--n1 20000` or `--n1=20000`) or env (`BENCH_N1=20000`); flags win.
 * Defaults are sized so the whole run takes a few minutes on a 2-core machine.
 */
export interface BenchOptions {
  /** Scenario 1: requests against the zero-latency simulator, and the total concurrency. */
  n1: number;
  c1: number;
  /** Scenario 2: requests at 1 s median / 1.5 s p99 latency, and the total concurrency. */
  n2: number;
  c2: number;
  latencyMedianMs: number;
  latencyP99Ms: number;
  /** Alternating loop/llmbatch pairs per throughput scenario; the medians are reported. */
  repeats: number;
  /** Scenario 3: runs of a small batch, and its size. */
  smallRuns: number;
  smallSize: number;
  /**
   * Engine knobs; 0 keeps the engine's default. The scenario's concurrency goes to
   * LLMBATCH_WORKER_CONCURRENCY (the worker-wide cap on requests in flight), so
   * chunks in flight × item concurrency only has to reach it.
   */
  chunkSize: number;
  chunksInFlight: number;
  itemConcurrency: number;
  /** How often the client polls GET /batches/:id (throughput runs, small-batch runs). */
  pollMs: number;
  smallPollMs: number;
  /** Requests sent through each side before measuring (JIT, connection pools, workflow bundle caches). */
  warmup: number;
  /** Before each timed run, wait up to this long for other processes to leave the machine idle. */
  quietWaitS: number;
  /**
   * Scenario 4: the simulator's RPM limit, the background traffic
   * of the busy window, each run's length at the available rate.
   */
  rlRpm: number;
  rlBackgroundRpm: number;
  rlSeconds: number;
  /**
   * Data planes that scenarios 1, 2, 3, 5 and 6 run on, each on stacks of its own: `files` (the embedded
   * store) and `postgres` (a fresh database per stack on `pgUrl`'s server), comma-separated. Scenario 4
   * runs on the first.
   */
  stores: string;
  /** The PostgreSQL server the bench creates its databases on (its admin database's URL). */
  pgUrl: string;
  /** Scenario 5: lines of the NDJSON POST, then as many results downloaded; 0 skips it. */
  ingestLines: number;
  /** Scenario 6: batches put in the store before timing POSTs again; 0 skips it. */
  earlierBatches: number;
  /** Scenario 6: timed POSTs of a small batch on each side (few earlier batches, then many). */
  postRuns: number;
  /** Scenario 8: structured lines per run, with and without `options.outputSchema`; 0 skips it. */
  validationLines: number;
  /** Scenario 9 (`--only 9`): requests each way (the sequential calls: a twentieth of them). */
  gatherRequests: number;
  /**
   * Only these scenarios, comma-separated (7, 8, 9: the ones that run on stacks of their own); their sections are
   * printed, docs/benchmarks.md is not written. Empty: every scenario.
   */
  only: string;
  /** Where the report goes; empty string: stdout only. */
  out: string;
  keepData: boolean;
  /** Every scenario tiny, checking results only (see QUICK); never writes docs/benchmarks.md. */
  quick: boolean;
}

const DEFAULTS: BenchOptions = {
  n1: 20_000,
  c1: 64,
  n2: 5_000,
  c2: 256,
  latencyMedianMs: 1000,
  latencyP99Ms: 1500,
  repeats: 3,
  smallRuns: 20,
  smallSize: 10,
  chunkSize: 0,
  chunksInFlight: 0,
  itemConcurrency: 0,
  pollMs: 100,
  smallPollMs: 25,
  warmup: 1000,
  quietWaitS: 120,
  rlRpm: 3000,
  rlBackgroundRpm: 1500,
  rlSeconds: 45,
  stores: 'files,postgres',
  pgUrl: DEFAULT_PG_URL,
  ingestLines: 1_000_000,
  earlierBatches: 10_000,
  postRuns: 30,
  validationLines: 4000,
  gatherRequests: 3000,
  only: '',
  out: 'docs/benchmarks.md',
  keepData: false,
  quick: false,
};

/**
 * `--quick`: the defaults become these, so that every scenario runs in seconds (`npm test` runs it).
 * The figures mean nothing at this size; the run checks that each scenario completes with every
 * custom_id answered once. The report goes to a temp file (empty `out`), never the docs.
 */
const QUICK: Partial<BenchOptions> = {
  n1: 300,
  n2: 200,
  c2: 64,
  latencyMedianMs: 20,
  latencyP99Ms: 50,
  repeats: 1,
  smallRuns: 2,
  warmup: 0,
  quietWaitS: 0,
  rlRpm: 12_000,
  rlBackgroundRpm: 6000,
  rlSeconds: 2,
  ingestLines: 2000,
  earlierBatches: 20,
  postRuns: 3,
  validationLines: 200,
  gatherRequests: 200,
  out: '',
};

const kebab = (key: string): string => key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
const envName = (key: string): string => `BENCH_${kebab(key).replace(/-/g, '_').toUpperCase()}`;

export const USAGE =
  'npm run bench -- [flags]   (each flag also as env BENCH_<NAME>, e.g. BENCH_N1; ' +
  `engine knobs at 0 keep the engine's default)
  --quick sets: ${Object.entries(QUICK)
    .map(([k, v]) => `--${kebab(k)} ${JSON.stringify(v)}`)
    .join(' ')}
${Object.entries(DEFAULTS)
  .map(([k, v]) => `  --${kebab(k)} (${envName(k)})  default ${JSON.stringify(v)}`)
  .join('\n')}`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const raw = new Map<string, string>();
  for (const k of Object.keys(DEFAULTS)) {
    const fromEnv = env[envName(k)];
    if (fromEnv !== undefined) raw.set(k, fromEnv);
  }
  const byFlag = new Map(Object.keys(DEFAULTS).map((k) => [kebab(k), k]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const key = m ? byFlag.get(m[1] ?? '') : undefined;
    if (!m || !key) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    const isBool = typeof DEFAULTS[key as keyof BenchOptions] === 'boolean';
    raw.set(key, m[2] ?? (isBool ? 'true' : (argv[++i] ?? '')));
  }
  const quick = raw.get('quick') === 'true' || raw.get('quick') === '1';
  const opts: Record<string, unknown> = { ...DEFAULTS, ...(quick ? QUICK : {}) };
  for (const [k, text] of raw) {
    const def = DEFAULTS[k as keyof BenchOptions];
    if (typeof def === 'number') {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`${kebab(k)}: expected a non-negative integer, got ${JSON.stringify(text)}`);
      opts[k] = n;
    } else if (typeof def === 'boolean') opts[k] = text === 'true' || text === '1';
    else opts[k] = text;
  }
  const o = opts as unknown as BenchOptions;
  if (o.n1 < 1 || o.n2 < 1 || o.smallSize < 1 || o.repeats < 1) throw new Error('request counts must be at least 1');
  if (o.rlBackgroundRpm >= o.rlRpm || o.rlSeconds < 1)
    throw new Error('rl-background-rpm must be below rl-rpm, and rl-seconds at least 1');
  storesOf(o);
  onlyOf(o);
  if (o.ingestLines > 1_000_000) throw new Error("ingest-lines: at most 1000000 (the API's items-per-batch limit)");
  if (o.earlierBatches > 0 && o.postRuns < 1) throw new Error('post-runs: at least 1');
  return o;
}

/** The stores to run on, in order, without repeats. */
export function storesOf(o: BenchOptions): StoreKind[] {
  const list = o.stores
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const bad = list.filter((x) => x !== 'files' && x !== 'postgres');
  if (bad.length > 0 || list.length === 0)
    throw new Error(`stores: a comma-separated list of files and postgres, got ${JSON.stringify(o.stores)}`);
  return [...new Set(list)] as StoreKind[];
}

/** Scenarios that run alone with `--only`. */
const ALONE = [7, 8, 9];

/** The scenarios `only` names, or undefined for all of them. */
export function onlyOf(o: BenchOptions): Set<number> | undefined {
  const list = o.only
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (list.length === 0) return undefined;
  const picked = list.map(Number);
  if (picked.some((n) => !ALONE.includes(n)))
    throw new Error(`only: a comma-separated list of ${ALONE.join(', ')}, got ${JSON.stringify(o.only)}`);
  return new Set(picked);
}
