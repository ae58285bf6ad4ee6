/**
 * The API's metrics without Temporal: counters as the API calls them, and the scrape-time gauges computed
 * from snapshots of open batches (queue length, queue delay, stalls, budget pauses), with the collection
 * cache and a failing source.
 */
import {
  ApiMetrics,
  COLLECTION_TTL_MS,
  MAX_BATCHES_PER_SCRAPE,
  type ApiMetricsSources,
  type BatchSnapshot,
  type LaneLimit,
  type OpenBatch,
} from '../../src/metrics/apiMetrics';

type Labels = Record<string, string | number>;

async function value(m: ApiMetrics, name: string, labels: Labels = {}): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const match = (metric.values as { value: number; labels: Labels; metricName?: string }[]).find(
    (v) =>
      (v.metricName === undefined || v.metricName === name) &&
      Object.entries(labels).every(([k, want]) => v.labels[k] === want) &&
      Object.keys(v.labels).length === Object.keys(labels).length,
  );
  return match?.value;
}

const MINUTE = 60_000;

function running(id: string, over: Partial<OpenBatch> = {}, progress: Partial<OpenBatch['progress']> = {}): OpenBatch {
  return {
    id,
    tenant: 'acme',
    mode: 'realtime',
    status: 'running',
    ...over,
    progress: { pending: 100, done: 0, itemsInFlight: 10, startedAtMs: 0, pausedForBudget: false, ...progress },
  };
}

/** Sources answering what the test sets, counting how often they were read. */
class FakeSources implements ApiMetricsSources {
  snapshot: BatchSnapshot = { batches: [], truncated: false };
  limits: LaneLimit[] = [];
  reads = 0;
  fail?: Error;
  maxAsked?: number;

  openBatches = async (max: number): Promise<BatchSnapshot> => {
    this.reads += 1;
    this.maxAsked = max;
    if (this.fail) throw this.fail;
    return this.snapshot;
  };

  laneLimits = async (): Promise<LaneLimit[]> => this.limits;
}

function setup(): { m: ApiMetrics; sources: FakeSources; clock: { now: number }; errors: unknown[] } {
  const clock = { now: 10 * MINUTE };
  const errors: unknown[] = [];
  const m = new ApiMetrics({ now: () => clock.now, onCollectError: (e) => errors.push(e) });
  return { m, sources: new FakeSources(), clock, errors };
}

describe('ApiMetrics counters', () => {
  it('counts submissions by tenant and mode, tenants past the first 50 as "other"', async () => {
    const { m } = setup();
    m.batchSubmitted('acme', 'realtime', 200);
    m.batchSubmitted('acme', 'realtime', 5);
    m.batchSubmitted('acme', 'native', 7);
    for (let i = 0; i < 60; i++) m.batchSubmitted(`t${i}`, 'realtime', 1);
    expect(await value(m, 'llmbatch_batches_submitted_total', { tenant: 'acme', mode: 'realtime' })).toBe(2);
    expect(await value(m, 'llmbatch_items_submitted_total', { tenant: 'acme', mode: 'realtime' })).toBe(205);
    expect(await value(m, 'llmbatch_items_submitted_total', { tenant: 'acme', mode: 'native' })).toBe(7);
    // acme took one of the 50 places: t0..t48 keep theirs, t49..t59 are "other".
    expect(await value(m, 'llmbatch_batches_submitted_total', { tenant: 't48', mode: 'realtime' })).toBe(1);
    expect(await value(m, 'llmbatch_batches_submitted_total', { tenant: 'other', mode: 'realtime' })).toBe(11);
  });

  it('counts HTTP requests by route pattern and status class, with a duration histogram', async () => {
    const { m } = setup();
    m.httpRequest('GET', '/batches/:id', 200, 0.01);
    m.httpRequest('GET', '/batches/:id', 404, 0.02);
    m.httpRequest('GET', '/batches/:id', 201, 3);
    expect(
      await value(m, 'llmbatch_http_requests_total', { method: 'GET', route: '/batches/:id', status_class: '2xx' }),
    ).toBe(2);
    expect(
      await value(m, 'llmbatch_http_requests_total', { method: 'GET', route: '/batches/:id', status_class: '4xx' }),
    ).toBe(1);
    const text = await m.registry.metrics();
    expect(text).toContain('llmbatch_http_request_duration_seconds_count{method="GET",route="/batches/:id"} 3');
    expect(text).toContain(
      'llmbatch_http_request_duration_seconds_bucket{le="2.5",method="GET",route="/batches/:id"} 2',
    );
  });
});

describe('ApiMetrics gauges from open batches', () => {
  it('counts batches by status, items pending, budget pauses, and says when the listing was capped', async () => {
    const { m, sources } = setup();
    sources.snapshot = {
      batches: [
        running('a'),
        running('b', { status: 'paused' }, { pending: 30, pausedForBudget: true }),
        running('c', { status: 'paused' }, { pending: 5 }),
        running('d', { mode: 'native', tenant: 'ops' }, { pending: 1000 }),
        { id: 'e', tenant: 'ops', mode: 'realtime', status: 'running' }, // its query failed: counted, no progress
        running('f', { status: 'scheduled' }, { pending: 7000 }), // waiting for its notBefore: not queued yet
      ],
      truncated: true,
    };
    await m.render(sources);
    expect(sources.maxAsked).toBe(MAX_BATCHES_PER_SCRAPE);
    expect(await value(m, 'llmbatch_batches', { tenant: 'acme', mode: 'realtime', status: 'running' })).toBe(1);
    expect(await value(m, 'llmbatch_batches', { tenant: 'acme', mode: 'realtime', status: 'paused' })).toBe(2);
    expect(await value(m, 'llmbatch_batches', { tenant: 'acme', mode: 'realtime', status: 'scheduled' })).toBe(1);
    expect(await value(m, 'llmbatch_batches', { tenant: 'ops', mode: 'native', status: 'running' })).toBe(1);
    expect(await value(m, 'llmbatch_batches', { tenant: 'ops', mode: 'realtime', status: 'running' })).toBe(1);
    expect(await value(m, 'llmbatch_items_pending', { tenant: 'acme', mode: 'realtime' })).toBe(135);
    expect(await value(m, 'llmbatch_items_pending', { tenant: 'ops', mode: 'native' })).toBe(1000);
    expect(await value(m, 'llmbatch_batches_paused_for_budget', { tenant: 'acme' })).toBe(1);
    expect(await value(m, 'llmbatch_metrics_batches_truncated')).toBe(1);
  });

  it('queue delay: the longest wait of a running realtime batch chunk, beyond its window or scheduled', async () => {
    const { m, sources, clock } = setup();
    sources.snapshot = {
      batches: [
        running('all-in-flight', {}, { pending: 10, itemsInFlight: 10, startedAtMs: clock.now - 9 * MINUTE }),
        running('waiting', {}, { pending: 50, itemsInFlight: 10, startedAtMs: clock.now - 2 * MINUTE }),
        running('paused', { status: 'paused' }, { pending: 50, startedAtMs: clock.now - 8 * MINUTE }),
        running('native', { mode: 'native' }, { pending: 50, startedAtMs: clock.now - 7 * MINUTE }),
      ],
      truncated: false,
    };
    await m.render(sources);
    expect(await value(m, 'llmbatch_oldest_pending_chunk_age_seconds')).toBe(120);
    expect(await value(m, 'llmbatch_metrics_batches_truncated')).toBe(0);

    // Every chunk in the window, one scheduled in Temporal 3 minutes ago and not started yet.
    const scheduled = { pending: 10, itemsInFlight: 10, startedAtMs: clock.now - 9 * MINUTE };
    sources.snapshot = {
      batches: [running('scheduled', {}, { ...scheduled, queuedSinceMs: clock.now + COLLECTION_TTL_MS - 3 * MINUTE })],
      truncated: false,
    };
    clock.now += COLLECTION_TTL_MS;
    await m.render(sources);
    expect(await value(m, 'llmbatch_oldest_pending_chunk_age_seconds')).toBe(180);
    sources.snapshot = { batches: [], truncated: false };
    clock.now += COLLECTION_TTL_MS;
    await m.render(sources);
    expect(await value(m, 'llmbatch_oldest_pending_chunk_age_seconds')).toBe(0);
  });

  it('a stall: since the start when nothing is done, since the last change after, reset by a resume', async () => {
    const { m, sources, clock } = setup();
    const snapshot = (b: OpenBatch): void => {
      sources.snapshot = { batches: [b], truncated: false };
    };
    const stalled = async (): Promise<number | undefined> => {
      clock.now += COLLECTION_TTL_MS;
      await m.render(sources);
      return value(m, 'llmbatch_batch_stalled_seconds');
    };
    const started = clock.now - 3 * MINUTE;
    snapshot(running('s', {}, { done: 0, startedAtMs: started }));
    expect(await stalled()).toBe((clock.now - started) / 1000);
    snapshot(running('s', {}, { done: 40, startedAtMs: started }));
    expect(await stalled()).toBe(0);
    expect(await stalled()).toBe(COLLECTION_TTL_MS / 1000); // no change since
    snapshot(running('s', { status: 'paused' }, { done: 40, startedAtMs: started }));
    expect(await stalled()).toBe(0); // a paused batch is not stalled
    snapshot(running('s', {}, { done: 40, startedAtMs: started }));
    expect(await stalled()).toBe(0); // resumed: its clock starts again
    expect(await stalled()).toBe(COLLECTION_TTL_MS / 1000);
    snapshot(running('late', {}, { done: 7, startedAtMs: started })); // first seen with items done: from now
    expect(await stalled()).toBe(0);
    sources.snapshot = { batches: [], truncated: false };
    expect(await stalled()).toBe(0);
    expect(await value(m, 'llmbatch_batches', { tenant: 'acme', mode: 'realtime', status: 'running' })).toBe(undefined);
  });

  it('reads the sources at most once per COLLECTION_TTL_MS, however many scrapes come', async () => {
    const { m, sources, clock } = setup();
    await Promise.all([m.render(sources), m.render(sources), m.render(sources)]);
    clock.now += COLLECTION_TTL_MS - 1;
    await m.render(sources);
    expect(sources.reads).toBe(1);
    clock.now += 1;
    await m.render(sources);
    expect(sources.reads).toBe(2);
  });

  it('lane limits by task queue, limit and source', async () => {
    const { m, sources } = setup();
    sources.limits = [
      { taskQueue: 'llmbatch', limit: 'rpm', source: 'configured', value: 1200 },
      { taskQueue: 'llmbatch', limit: 'rpm', source: 'server', value: 4800 },
    ];
    await m.render(sources);
    expect(await value(m, 'llmbatch_lane_limit', { task_queue: 'llmbatch', limit: 'rpm', source: 'server' })).toBe(
      4800,
    );
    expect(await value(m, 'llmbatch_lane_limit', { task_queue: 'llmbatch', limit: 'rpm', source: 'configured' })).toBe(
      1200,
    );
  });

  it('a failed collection is counted and reported, and the scrape still answers with the last gauges', async () => {
    const { m, sources, clock, errors } = setup();
    sources.snapshot = { batches: [running('a')], truncated: false };
    await m.render(sources);
    sources.fail = new Error('Temporal is down');
    clock.now += COLLECTION_TTL_MS;
    m.batchSubmitted('acme', 'realtime', 1);
    const text = await m.render(sources);
    expect(text).toContain('llmbatch_metrics_collect_failures_total 1');
    expect(text).toContain('llmbatch_batches_submitted_total{tenant="acme",mode="realtime"} 1');
    expect(await value(m, 'llmbatch_batches', { tenant: 'acme', mode: 'realtime', status: 'running' })).toBe(1);
    expect(errors).toEqual([sources.fail]);
  });
});
