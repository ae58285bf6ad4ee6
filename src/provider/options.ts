import { z } from 'zod';

/** Knobs of the simulator; every field is optional, defaults in the schema. */
export interface SimulatorOptions {
  host?: string;
  port?: number;
  apiKey?: string;
  latencyMedianMs?: number;
  latencyP99Ms?: number;
  rpm?: number;
  tpm?: number;
  /** Token-bucket capacity as seconds of replenishment (1: a 3,000 RPM limit admits about 50 at once). */
  rateBurstSeconds?: number;
  /** Other clients of the same organisation, draining the same limits first. */
  backgroundRpm?: number;
  backgroundTpm?: number;
  errorRate?: number;
  hangRate?: number;
  malformedRate?: number;
  /** Answered 429 although within the limits: the provider short of capacity, which no client pacing avoids. */
  throttleRate?: number;
  /** Fraction of first asks with a json_schema format answered with output that fails the schema. */
  invalidOutputRate?: number;
  batchLinesPerSecond?: number;
  batchValidatingMs?: number;
  batchFinalizingMs?: number;
  completionWindowMs?: number;
  maxBatchLines?: number;
  maxFileBytes?: number;
  dataDir?: string;
  seed?: number;
}

const rate = z.number().min(0).max(1);
const nonNegativeInt = z.number().int().min(0);
const positiveInt = z.number().int().min(1);
/** Node timers overflow past 2^31-1 ms (and would then fire at once), so durations stop there (~24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;
const durationMs = z.number().min(0).max(MAX_TIMER_MS);

export const simulatorOptionsSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: nonNegativeInt.max(65535).default(0),
    apiKey: z.string().min(1).optional(),
    latencyMedianMs: durationMs.default(0),
    latencyP99Ms: durationMs.optional(),
    rpm: nonNegativeInt.default(0),
    tpm: nonNegativeInt.default(0),
    // Up to 60 s: a burst never exceeds the minute's limit.
    rateBurstSeconds: z.number().gt(0).max(60).default(1),
    backgroundRpm: nonNegativeInt.default(0),
    backgroundTpm: nonNegativeInt.default(0),
    errorRate: rate.default(0),
    hangRate: rate.default(0),
    malformedRate: rate.default(0),
    throttleRate: rate.default(0),
    invalidOutputRate: rate.default(0),
    batchLinesPerSecond: z.number().gt(0).default(1000),
    batchValidatingMs: durationMs.int().default(100),
    batchFinalizingMs: durationMs.int().default(100),
    completionWindowMs: durationMs.int().min(1).default(86_400_000),
    maxBatchLines: positiveInt.default(50_000),
    maxFileBytes: positiveInt.default(200 * 1024 * 1024),
    dataDir: z.string().min(1).optional(),
    seed: z.number().int().default(0),
  })
  .refine((o) => o.latencyP99Ms === undefined || o.latencyP99Ms >= o.latencyMedianMs, {
    message: 'must be >= latencyMedianMs',
    path: ['latencyP99Ms'],
  });

export type ResolvedOptions = z.output<typeof simulatorOptionsSchema>;

// Compile-time guard: the public interface and the schema must list the same knobs.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const interfaceMatchesSchema: SameKeys<SimulatorOptions, z.input<typeof simulatorOptionsSchema>> = true;
void interfaceMatchesSchema;

export type OptionName = keyof SimulatorOptions;

/** Thrown for a bad option; `option` names the offending knob. */
export class InvalidOptionError extends Error {
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`Invalid simulator option '${option}': ${reason}`);
    this.name = 'InvalidOptionError';
  }
}

export function parseOptions(raw: unknown): ResolvedOptions {
  const parsed = simulatorOptionsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new InvalidOptionError('(unknown)', parsed.error.message);
  if (issue.code === 'unrecognized_keys') {
    throw new InvalidOptionError(issue.keys.join(', '), 'unknown option');
  }
  throw new InvalidOptionError(issue.path.map(String).join('.') || '(options)', issue.message);
}

/** Knobs fixed at start: changing them would need a new server or data directory. */
const START_ONLY: readonly OptionName[] = ['host', 'port', 'dataDir'];

/**
 * Holds the current knobs. Modules read `current` on every use, so a runtime
 * `update` (tests turning faults on and off) takes effect on the next request.
 */
export class OptionsStore {
  private raw: SimulatorOptions;
  current: ResolvedOptions;
  private readonly listeners: ((next: ResolvedOptions, previous: ResolvedOptions) => void)[] = [];

  constructor(raw: SimulatorOptions = {}) {
    this.raw = stripUndefined(raw);
    this.current = parseOptions(this.raw);
  }

  update(patch: Partial<SimulatorOptions>): void {
    for (const name of START_ONLY) {
      if (name in patch && patch[name] !== this.raw[name]) {
        throw new InvalidOptionError(name, 'can only be set when the simulator starts');
      }
    }
    const merged = { ...this.raw, ...patch };
    const next = parseOptions(stripUndefined(merged));
    const previous = this.current;
    this.raw = merged;
    this.current = next;
    for (const listener of this.listeners) listener(next, previous);
  }

  onChange(listener: (next: ResolvedOptions, previous: ResolvedOptions) => void): void {
    this.listeners.push(listener);
  }

  /** p99 defaults to the median, i.e. constant latency. */
  latencyP99Ms(): number {
    return this.current.latencyP99Ms ?? this.current.latencyMedianMs;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
