/** createWorkerMetrics on its own: tallied counters across scrapes, bounded labels, gauges, the no-op. */
import { createWorkerMetrics, NO_WORKER_METRICS } from '../../src/metrics/workerMetrics';

const CHAT = { endpoint: '/v1/chat/completions', mode: 'realtime' as const };
const line = (text: string, name: string): string | undefined =>
  text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('createWorkerMetrics', () => {
  it('hands tallied counts to each scrape once: a second scrape adds only what came since', async () => {
    const m = createWorkerMetrics();
    const items = m.items({ tenant: 'acme', model: 'gpt-4o-mini', ...CHAT });
    items.succeeded(10, 2, { input: 1, output: 2, batchDiscount: 0.5 });
    items.succeeded(10, 2, undefined);
    let text = await m.registry.metrics();
    expect(text).toMatch(/^llmbatch_items_total\{tenant="acme",.*outcome="succeeded",error_code=""\} 2$/m);
    expect(text).toMatch(/^llmbatch_tokens_total\{.*direction="input"\} 20$/m);
    expect(text).toMatch(/^llmbatch_cost_usd_total\{tenant="acme",model="gpt-4o-mini",mode="realtime"\} 0\.000014$/m);
    m.items({ tenant: 'acme', model: 'gpt-4o-mini', ...CHAT }).succeeded(1, 0, undefined);
    text = await m.registry.metrics();
    expect(text).toMatch(/^llmbatch_items_total\{tenant="acme",.*outcome="succeeded",error_code=""\} 3$/m);
    expect(text).toMatch(/^llmbatch_tokens_total\{.*direction="input"\} 21$/m);
    expect(await m.registry.metrics()).toMatch(/^llmbatch_items_total\{.*\} 3$/m);
  });

  it('native mode costs the batch price', async () => {
    const m = createWorkerMetrics();
    m.items({ tenant: 't', model: 'x', ...CHAT, mode: 'native' }).succeeded(1_000_000, 0, {
      input: 2,
      output: 0,
      batchDiscount: 0.5,
    });
    expect(line(await m.registry.metrics(), 'llmbatch_cost_usd_total')).toMatch(/mode="native"\} 1$/);
  });

  it('folds tenants past the 50th into "other"', async () => {
    const m = createWorkerMetrics();
    for (let t = 0; t < 51; t++) m.items({ tenant: `t${t}`, model: 'x', ...CHAT }).cacheHit();
    const text = await m.registry.metrics();
    expect(text).toMatch(/^llmbatch_cache_hits_total\{tenant="t49",/m);
    expect(text).toMatch(
      /^llmbatch_cache_hits_total\{tenant="other",model="x",endpoint="\/v1\/chat\/completions"\} 1$/m,
    );
    expect(text).not.toMatch(/tenant="t50"/);
  });

  it('keeps the in-flight gauges honest and ends a chunk attempt once', async () => {
    const m = createWorkerMetrics();
    const items = m.items({ tenant: 'a', model: 'x', ...CHAT });
    items.requestStarted();
    items.requestStarted();
    const chunk = m.chunkStarted({ tenant: 'a', taskQueue: 'q', attempt: 3, scheduledAtMs: Date.now() + 60_000 });
    let text = await m.registry.metrics();
    expect(line(text, 'llmbatch_provider_requests_in_flight')).toBe('llmbatch_provider_requests_in_flight 2');
    expect(line(text, 'llmbatch_chunks_in_flight')).toBe('llmbatch_chunks_in_flight 1');
    items.requestEnded(503, 0.2);
    items.requestCancelled();
    chunk.ended('cancelled');
    chunk.ended('completed');
    text = await m.registry.metrics();
    expect(line(text, 'llmbatch_provider_requests_in_flight')).toBe('llmbatch_provider_requests_in_flight 0');
    expect(line(text, 'llmbatch_chunks_in_flight')).toBe('llmbatch_chunks_in_flight 0');
    expect(text).toMatch(/^llmbatch_provider_requests_total\{.*status_class="5xx"\} 1$/m);
    expect(text).toMatch(/^llmbatch_chunk_attempts_total\{tenant="a",outcome="cancelled"\} 1$/m);
    expect(text).not.toMatch(/outcome="completed"/);
    expect(text).toMatch(/^llmbatch_chunk_retries_total\{tenant="a"\} 1$/m);
    // A scheduling time ahead of the worker's clock (skew) is a delay of zero, not a negative one.
    expect(text).toMatch(/^llmbatch_chunk_schedule_to_start_seconds_sum\{task_queue="q"\} 0$/m);
  });

  it('NO_WORKER_METRICS records nothing and needs no registry', () => {
    const items = NO_WORKER_METRICS.items({ tenant: 'a', model: 'x', ...CHAT });
    expect(() => {
      items.succeeded(1, 1, undefined);
      items.requestEnded(200, 1);
      NO_WORKER_METRICS.chunkStarted({ tenant: 'a', taskQueue: 'q', attempt: 1, scheduledAtMs: 0 }).ended('retry');
      NO_WORKER_METRICS.batchFinished('a', 'realtime', 'completed');
    }).not.toThrow();
    expect(NO_WORKER_METRICS.items({ tenant: 'b', model: 'y', ...CHAT })).toBe(items);
  });
});
