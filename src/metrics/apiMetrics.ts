/**
 * The API's Prometheus metrics, served at GET /metrics (docs/metrics.md lists them): what the API sees itself
 * (submissions, HTTP requests) and, collected when scraped, what Temporal holds (open batches, the queue, lane
 * limits). One registry per instance, so tests can make as many as they like.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BatchGauges, MAX_BATCHES_PER_SCRAPE, type BatchSnapshot } from './apiBatchGauges';
import { BoundedLabel } from './labels';

export { MAX_BATCHES_PER_SCRAPE, type BatchSnapshot, type OpenBatch } from './apiBatchGauges';

/** A collection is reused this long, so that several Prometheus servers scraping do not multiply Temporal's load. */
export const COLLECTION_TTL_MS = 5_000;

/** A limit of a task queue: as configured at start-up, or as the server enforces it now. */
export interface LaneLimit {
  taskQueue: string;
  limit: 'rpm' | 'tpm';
  source: 'configured' | 'server';
  value: number;
}

/** Where the scrape-time gauges come from; the API wires in Temporal and its config (src/api/metrics.ts). */
export interface ApiMetricsSources {
  /** Open batches, at most `max` of them. */
  openBatches(max: number): Promise<BatchSnapshot>;
  laneLimits(): Promise<LaneLimit[]>;
}

export interface ApiMetricsOptions {
  /** Node's process metrics (prefixed llmbatch_api_): on in the API process, off in tests that make many. */
  defaultMetrics?: boolean;
  now?: () => number;
  /** Told when a collection fails (the scrape still answers, with the counters and the last gauges). */
  onCollectError?: (err: unknown) => void;
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly tenants = new BoundedLabel();
  private readonly batchesSubmitted: Counter;
  private readonly itemsSubmitted: Counter;
  private readonly httpRequests: Counter;
  private readonly httpDuration: Histogram;
  private readonly laneLimit: Gauge;
  private readonly collectFailures: Counter;
  private readonly batchGauges: BatchGauges;
  private readonly now: () => number;
  private last?: { atMs: number; done: Promise<void> };

  constructor(private readonly options: ApiMetricsOptions = {}) {
    const registers = [this.registry];
    this.now = options.now ?? Date.now;
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'llmbatch_api_' });
    this.batchesSubmitted = new Counter({
      name: 'llmbatch_batches_submitted_total',
      help: 'Batches created through the API (a replayed Idempotency-Key is not counted), by tenant and mode.',
      labelNames: ['tenant', 'mode'],
      registers,
    });
    this.itemsSubmitted = new Counter({
      name: 'llmbatch_items_submitted_total',
      help: 'Items (request lines) of the batches created through the API, by tenant and mode.',
      labelNames: ['tenant', 'mode'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'llmbatch_http_requests_total',
      help: 'HTTP requests answered by the API, by method, route pattern and status class.',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'llmbatch_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, by method and route pattern.',
      labelNames: ['method', 'route'],
      registers,
    });
    this.laneLimit = new Gauge({
      name: 'llmbatch_lane_limit',
      help: 'Rate limit of a task queue (limit rpm or tpm): as configured at start-up, or as the server enforces it.',
      labelNames: ['task_queue', 'limit', 'source'],
      registers,
    });
    this.collectFailures = new Counter({
      name: 'llmbatch_metrics_collect_failures_total',
      help: 'Scrape-time collections from Temporal that failed (the gauges keep their last values).',
      registers,
    });
    this.batchGauges = new BatchGauges(this.registry, this.tenants);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A batch the API created (its workflow started). */
  batchSubmitted(tenant: string, mode: 'realtime' | 'native', items: number): void {
    const labels = { tenant: this.tenants.of(tenant), mode };
    this.batchesSubmitted.inc(labels);
    this.itemsSubmitted.inc(labels, items);
  }

  /** `route`: the express route pattern (never the raw path, which holds batch ids). */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status_class: `${Math.floor(status / 100)}xx` });
    this.httpDuration.observe({ method, route }, seconds);
  }

  /** The exposition text, the gauges refreshed from `sources` unless a collection under COLLECTION_TTL_MS old is. */
  async render(sources: ApiMetricsSources): Promise<string> {
    const nowMs = this.now();
    if (!this.last || nowMs - this.last.atMs >= COLLECTION_TTL_MS)
      this.last = { atMs: nowMs, done: this.collect(sources) };
    await this.last.done;
    return this.registry.metrics();
  }

  private async collect(sources: ApiMetricsSources): Promise<void> {
    const [batches, limits] = await Promise.allSettled([
      sources.openBatches(MAX_BATCHES_PER_SCRAPE),
      sources.laneLimits(),
    ]);
    if (batches.status === 'fulfilled') this.batchGauges.update(batches.value, this.now());
    if (limits.status === 'fulfilled') {
      this.laneLimit.reset();
      for (const l of limits.value)
        this.laneLimit.set({ task_queue: l.taskQueue, limit: l.limit, source: l.source }, l.value);
    }
    for (const r of [batches, limits])
      if (r.status === 'rejected') {
        this.collectFailures.inc();
        this.options.onCollectError?.(r.reason);
      }
  }
}
