/**
 * The worker half of the metric catalog (docs/metrics.md): names, help texts, labels and buckets, registered on
 * one prom-client registry. What the activities call is in workerMetrics.ts. Counters a request increments are
 * tallied (tally.ts); the rest count a chunk, a poll or a batch, and use prom-client's own increments.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { talliedCounter } from './tally';

/** Provider calls: from a few milliseconds (a cache-like answer, the simulator) to minutes (a long completion). */
const PROVIDER_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
/** A chunk attempt: its items' calls, bounded by the item concurrency and the lane's pace. */
const CHUNK_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Queue delay: milliseconds on an idle worker, minutes behind a rate limit or a long queue. */
const QUEUE_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600];
/** A provider batch: minutes to its 24 h completion window (and past it, until it says expired). */
const PROVIDER_BATCH_SECONDS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800];

type Registers = Registry[];

function itemInstruments(registers: Registers) {
  return {
    items: talliedCounter({
      name: 'llmbatch_items_total',
      help: 'Items whose result was recorded, by outcome (succeeded, failed: a permanent error, dead_lettered)',
      labelNames: ['tenant', 'model', 'endpoint', 'mode', 'outcome', 'error_code'] as const,
      registers,
    }),
    cacheHits: talliedCounter({
      name: 'llmbatch_cache_hits_total',
      help: 'Items answered from the response cache (also counted as succeeded items): no provider call, no cost',
      labelNames: ['tenant', 'model', 'endpoint'] as const,
      registers,
    }),
    repairs: talliedCounter({
      name: 'llmbatch_output_repairs_total',
      help: 'Repair requests sent for structured answers invalid against their JSON Schema (counted with the result)',
      labelNames: ['tenant', 'model', 'endpoint'] as const,
      registers,
    }),
    tokens: talliedCounter({
      name: 'llmbatch_tokens_total',
      help: 'Tokens the provider reported for succeeded items (cache hits have none), by direction (input, output)',
      labelNames: ['tenant', 'model', 'endpoint', 'mode', 'direction'] as const,
      registers,
    }),
    cost: talliedCounter({
      name: 'llmbatch_cost_usd_total',
      help: "Estimated USD cost of the tokens counted, at the model's price (LLMBATCH_PRICES); unpriced models add 0",
      labelNames: ['tenant', 'model', 'mode'] as const,
      registers,
    }),
  };
}

function providerInstruments(registers: Registers) {
  return {
    providerRequests: talliedCounter({
      name: 'llmbatch_provider_requests_total',
      help: 'Provider requests that got an answer (by HTTP status class) or a transport error (error)',
      labelNames: ['model', 'endpoint', 'status_class'] as const,
      registers,
    }),
    rateLimited: talliedCounter({
      name: 'llmbatch_provider_rate_limited_total',
      help: 'Provider requests answered 429 (also counted in llmbatch_provider_requests_total as 4xx)',
      labelNames: ['model', 'endpoint'] as const,
      registers,
    }),
    providerSeconds: new Histogram({
      name: 'llmbatch_provider_request_duration_seconds',
      help: 'Time from sending a provider request to its answer or error',
      labelNames: ['model', 'endpoint'] as const,
      buckets: PROVIDER_SECONDS,
      registers,
    }),
    requestsInFlight: new Gauge({
      name: 'llmbatch_provider_requests_in_flight',
      help: 'Provider requests sent and not yet answered, in this worker',
      registers,
    }),
  };
}

function chunkInstruments(registers: Registers) {
  return {
    chunksInFlight: new Gauge({
      name: 'llmbatch_chunks_in_flight',
      help: 'Chunk activity attempts running in this worker',
      registers,
    }),
    chunkAttempts: new Counter({
      name: 'llmbatch_chunk_attempts_total',
      help: 'Chunk activity attempts by how they ended (completed, retry, failed, cancelled)',
      labelNames: ['tenant', 'outcome'] as const,
      registers,
    }),
    chunkRetries: new Counter({
      name: 'llmbatch_chunk_retries_total',
      help: 'Chunk activity attempts beyond the first (Temporal retries)',
      labelNames: ['tenant'] as const,
      registers,
    }),
    chunkSeconds: new Histogram({
      name: 'llmbatch_chunk_duration_seconds',
      help: 'Duration of chunk activity attempts, by how they ended',
      labelNames: ['tenant', 'outcome'] as const,
      buckets: CHUNK_SECONDS,
      registers,
    }),
    scheduleToStart: new Histogram({
      name: 'llmbatch_chunk_schedule_to_start_seconds',
      help: "Queue delay of chunk activities: from the current attempt's scheduling to its start on this worker",
      labelNames: ['task_queue'] as const,
      buckets: QUEUE_SECONDS,
      registers,
    }),
  };
}

function nativeInstruments(registers: Registers) {
  return {
    nativePolls: new Counter({
      name: 'llmbatch_native_polls_total',
      help: "Polls of provider batches, by the status they returned (error: the poll's request failed)",
      labelNames: ['status'] as const,
      registers,
    }),
    nativeBatches: new Counter({
      name: 'llmbatch_native_provider_batches_total',
      help: 'Provider batches seen reaching a terminal status (completed, failed, expired, cancelled)',
      labelNames: ['status'] as const,
      registers,
    }),
    nativeSeconds: new Histogram({
      name: 'llmbatch_native_time_in_provider_seconds',
      help: "Time a provider batch spent at the provider: from its creation to its terminal status (provider's clock)",
      buckets: PROVIDER_BATCH_SECONDS,
      registers,
    }),
    batchesFinished: new Counter({
      name: 'llmbatch_batches_finished_total',
      help: 'Batches whose outcome was written, by final status (completed, failed, cancelled)',
      labelNames: ['tenant', 'mode', 'status'] as const,
      registers,
    }),
  };
}

export function workerInstruments(registry: Registry) {
  const registers = [registry];
  return {
    ...itemInstruments(registers),
    ...providerInstruments(registers),
    ...chunkInstruments(registers),
    ...nativeInstruments(registers),
  };
}

export type WorkerInstruments = ReturnType<typeof workerInstruments>;
