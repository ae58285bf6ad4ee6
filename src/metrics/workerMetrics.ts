/**
 * What the worker's activities record, as calls that read like what happened ("an item succeeded"), over the
 * instruments of workerInstruments.ts. Activities get a `WorkerMetrics` through their factory's deps; without one
 * they use NO_WORKER_METRICS, whose calls do nothing, so the hot path has no `if (metrics)`.
 *
 * Per-request cost matters (the bench holds worker CPU per request to within 3% with metrics on): the label
 * children of an item's (tenant, model, endpoint, mode) are looked up once and kept, so recording an item is a
 * Map lookup and a few increments, not a label hash per increment.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ModelPrice } from '../shared/contracts';
import { BoundedLabel } from './labels';
import type { Tally } from './tally';
import { workerInstruments, type WorkerInstruments } from './workerInstruments';

export type MetricsMode = 'realtime' | 'native';
export type ChunkOutcome = 'completed' | 'retry' | 'failed' | 'cancelled';

/** The series of one (tenant, model, endpoint, mode): each call records one item or one provider request. */
export interface ItemMetrics {
  /**
   * A provider answer recorded as the item's result; its tokens and their cost at `price` (absent: unpriced).
   * `items` > 1: that many answers at once, with their tokens summed (a native collection).
   */
  succeeded(tokensIn: number, tokensOut: number, price: ModelPrice | undefined, items?: number): void;
  /** A result served from the response cache: a succeeded item and a cache hit, no tokens. */
  cacheHit(): void;
  /** Repair requests an item's recorded result took (structured outputs). */
  repaired(repairs: number): void;
  /** A permanent error recorded as the item's result (`items` of them). */
  failed(errorCode: string, items?: number): void;
  /** A transient failure no attempt is left for, recorded as a dead letter (`items` of them). */
  deadLettered(errorCode: string, items?: number): void;
  requestStarted(): void;
  /** The request's HTTP status, or undefined when it got none (a connection error, a timeout). */
  requestEnded(status: number | undefined, seconds: number): void;
  /** A request this worker gave up on (the activity was cancelled): in flight no more, and not an answer. */
  requestCancelled(): void;
}

export interface ChunkAttemptMetrics {
  ended(outcome: ChunkOutcome): void;
}

export interface ItemLabels {
  tenant: string | undefined;
  model: string | undefined;
  endpoint: string;
  mode: MetricsMode;
}

export interface ChunkAttemptInfo {
  tenant: string | undefined;
  taskQueue: string;
  attempt: number;
  /** When Temporal scheduled this attempt (its clock): the queue delay ends now. */
  scheduledAtMs: number;
}

export interface WorkerMetrics {
  items(labels: ItemLabels): ItemMetrics;
  chunkStarted(info: ChunkAttemptInfo): ChunkAttemptMetrics;
  /** One poll of a provider batch and the status it returned ('error': the request failed). */
  nativePolled(status: string): void;
  /** A provider batch reached a terminal status after `seconds` at the provider (undefined: unknown). */
  nativeBatchEnded(status: string, seconds: number | undefined): void;
  batchFinished(tenant: string | undefined, mode: MetricsMode, status: string): void;
}

const noop = (): void => {};
const NO_ITEM_METRICS: ItemMetrics = {
  succeeded: noop,
  cacheHit: noop,
  repaired: noop,
  failed: noop,
  deadLettered: noop,
  requestStarted: noop,
  requestEnded: noop,
  requestCancelled: noop,
};
const NO_CHUNK_METRICS: ChunkAttemptMetrics = { ended: noop };

/** Metrics off (tests, LLMBATCH_WORKER_METRICS_PORT unset): every call does nothing. */
export const NO_WORKER_METRICS: WorkerMetrics = {
  items: () => NO_ITEM_METRICS,
  chunkStarted: () => NO_CHUNK_METRICS,
  nativePolled: noop,
  nativeBatchEnded: noop,
  batchFinished: noop,
};

/** USD of tokens at a price, unrounded (costUsd in shared rounds each batch's total; here items add up). */
function usd(price: ModelPrice | undefined, tokensIn: number, tokensOut: number, mode: MetricsMode): number {
  if (!price) return 0;
  const full = (tokensIn * price.input + tokensOut * price.output) / 1_000_000;
  return mode === 'native' ? full * price.batchDiscount : full;
}

function statusClass(status: number | undefined): string {
  if (status === undefined) return 'error';
  return `${Math.floor(status / 100)}xx`;
}

/** Builds the label children of one (tenant, model, endpoint, mode) once; see ItemMetrics. */
function itemSeries(m: WorkerInstruments, tenant: string, model: string, endpoint: string, mode: MetricsMode) {
  const item = (outcome: string, errorCode: string) => m.items.tally(tenant, model, endpoint, mode, outcome, errorCode);
  const succeeded = item('succeeded', '');
  const tokensIn = m.tokens.tally(tenant, model, endpoint, mode, 'input');
  const tokensOut = m.tokens.tally(tenant, model, endpoint, mode, 'output');
  const cost = m.cost.tally(tenant, model, mode);
  const cacheHits = m.cacheHits.tally(tenant, model, endpoint);
  const repairs = m.repairs.tally(tenant, model, endpoint);
  const requests = new Map<string, Tally>();
  const request = (cls: string) => {
    let child = requests.get(cls);
    if (!child) requests.set(cls, (child = m.providerRequests.tally(model, endpoint, cls)));
    return child;
  };
  const rateLimited = m.rateLimited.tally(model, endpoint);
  const latency = m.providerSeconds.labels(model, endpoint);
  const errorCodes = new BoundedLabel();
  const series: ItemMetrics = {
    succeeded(tokIn, tokOut, price, n = 1) {
      succeeded.inc(n);
      if (tokIn > 0) tokensIn.inc(tokIn);
      if (tokOut > 0) tokensOut.inc(tokOut);
      const dollars = usd(price, tokIn, tokOut, mode);
      if (dollars > 0) cost.inc(dollars);
    },
    cacheHit() {
      succeeded.inc();
      cacheHits.inc();
    },
    repaired: (n) => repairs.inc(n),
    // Codes of permanent errors are the provider's own (a 400's `code`): bounded like any value from outside.
    failed: (code, n = 1) => item('failed', errorCodes.of(code)).inc(n),
    deadLettered: (code, n = 1) => item('dead_lettered', errorCodes.of(code)).inc(n),
    requestStarted: () => m.requestsInFlight.inc(),
    requestEnded(status, seconds) {
      m.requestsInFlight.dec();
      request(statusClass(status)).inc();
      if (status === 429) rateLimited.inc();
      latency.observe(seconds);
    },
    requestCancelled: () => m.requestsInFlight.dec(),
  };
  return series;
}

export interface PromWorkerMetrics extends WorkerMetrics {
  readonly registry: Registry;
}

/** The worker's metrics on `registry`, with Node's default metrics prefixed llmbatch_worker_. */
export function createWorkerMetrics(registry = new Registry()): PromWorkerMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'llmbatch_worker_' });
  const m = workerInstruments(registry);
  const tenants = new BoundedLabel();
  const models = new BoundedLabel();
  const statuses = new BoundedLabel(20);
  const series = new Map<string, ItemMetrics>();
  return {
    registry,
    items({ tenant, model, endpoint, mode }) {
      const key = `${tenant ?? ''}\n${model ?? ''}\n${endpoint}\n${mode}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = itemSeries(m, tenants.of(tenant), models.of(model), endpoint, mode)));
      return s;
    },
    chunkStarted({ tenant, taskQueue, attempt, scheduledAtMs }) {
      const started = performance.now();
      const t = tenants.of(tenant);
      // Clocks of server and worker differ a little: a negative delay is a delay of zero.
      m.scheduleToStart.labels(taskQueue).observe(Math.max(0, Date.now() - scheduledAtMs) / 1000);
      if (attempt > 1) m.chunkRetries.labels(t).inc();
      m.chunksInFlight.inc();
      let ended = false;
      return {
        ended(outcome) {
          if (ended) return;
          ended = true;
          m.chunksInFlight.dec();
          m.chunkAttempts.labels(t, outcome).inc();
          m.chunkSeconds.labels(t, outcome).observe((performance.now() - started) / 1000);
        },
      };
    },
    nativePolled: (status) => m.nativePolls.labels(statuses.of(status)).inc(),
    nativeBatchEnded(status, seconds) {
      m.nativeBatches.labels(statuses.of(status)).inc();
      if (seconds !== undefined) m.nativeSeconds.observe(Math.max(0, seconds));
    },
    batchFinished: (tenant, mode, status) => m.batchesFinished.labels(tenants.of(tenant), mode, status).inc(),
  };
}
