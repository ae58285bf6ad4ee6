/**
 * The metrics end to end, as an operator sees them: a real stack (Temporal dev server, the simulator with 10%
 * 500s, 5% 429s and an RPM limit, a worker process serving LLMBATCH_WORKER_METRICS_PORT, the API process) runs a
 * batch of 200 chat lines through the project API. Then the worker's and the API's /metrics must agree with the batch's
 * results and the simulator's own counts (/_sim/stats), and a real Prometheus, scraping the stack with the shipped
 * deploy/prometheus/prometheus.yml (our ports, 1 s intervals) and its alert rules, must answer PromQL queries of
 * the failure-rate and queue-delay series with the values the batch implies. The Prometheus part is skipped, with
 * a message, only where the `prometheus` binary is missing (CI installs Debian's through .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ManagedChild } from '../../src/cli/processes';
import { COLLECTION_TTL_MS } from '../../src/metrics/apiMetrics';
import type { BatchView } from '../../src/shared/views';
import { chatLines, freePort, Harness, sleep, waitFor } from '../durability/harness';
import { promQuery, PrometheusConfigSchema, quantileBucket, samples, sum, type Sample } from './promText';

const ROOT = join(__dirname, '..', '..');
const LINES = 200;
/** Items of a chunk: 20 chunks, so that the queue's rate limit makes them wait (queue delay). */
const CHUNK_SIZE = 10;
/** The simulator's limit and the default queue's: 2 chunks a second. */
const RPM = 1200;

function binary(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const PROMETHEUS = binary('prometheus');
if (!PROMETHEUS)
  console.warn(
    'SKIPPED the Prometheus part: the prometheus binary is not installed (Debian: apt-get install prometheus)',
  );
const withPrometheus = PROMETHEUS ? it : it.skip;

let h: Harness;
let api: string;
let workerMetrics: string;
let prometheus: { child: ManagedChild; url: string; dir: string } | undefined;
/** Tests that ran to their end: the logs and data are kept unless all did. */
const finished = new Set<string>();
const TESTS = PROMETHEUS ? 3 : 2;

/** The shipped config with this stack's ports, 1 s intervals and the rules file by its absolute path. */
function prometheusConfig(apiPort: number, workerPort: number): string {
  const dir = join(ROOT, 'deploy', 'prometheus');
  const config = PrometheusConfigSchema.parse(parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')));
  const ports: Record<string, number> = { 'llmbatch-api': apiPort, 'llmbatch-worker': workerPort };
  return stringify({
    ...config,
    global: { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: config.rule_files.map((f) => join(dir, f)),
    scrape_configs: config.scrape_configs.map((s) => {
      const port = ports[s.job_name];
      if (port === undefined) throw new Error(`prometheus.yml has a job this test does not know: ${s.job_name}`);
      return { ...s, static_configs: [{ targets: [`127.0.0.1:${port}`] }] };
    }),
  });
}

async function startPrometheus(apiPort: number, workerPort: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'llmbatch-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(apiPort, workerPort));
  const port = await freePort();
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ];
  const child = new ManagedChild({ name: 'prometheus', command: PROMETHEUS!, args }, h.logDir);
  prometheus = { child, url: `http://127.0.0.1:${port}`, dir };
  await waitFor(
    'Prometheus to scrape the API and the worker',
    async () => {
      const res = await fetch(`${prometheus!.url}/api/v1/targets`);
      const targets = ((await res.json()) as { data: { activeTargets: { health: string }[] } }).data.activeTargets;
      return targets.length === 2 && targets.every((t) => t.health === 'up');
    },
    30_000,
    { failIf: () => (child.running ? undefined : `it exited:\n${child.tail()}`) },
  );
}

beforeAll(async () => {
  const workerPort = await freePort();
  workerMetrics = `http://127.0.0.1:${workerPort}/metrics`;
  h = new Harness({
    name: 'metrics',
    // 429s too: the lane paces within the RPM limit and would meet none, so 5% are throttled within it.
    sim: { errorRate: 0.1, throttleRate: 0.05, rpm: RPM, seed: 13 },
    workerEnv: {
      LLMBATCH_WORKER_METRICS_PORT: String(workerPort),
      LLMBATCH_RPM: String(RPM),
      LLMBATCH_CHUNK_SIZE: String(CHUNK_SIZE),
      LLMBATCH_MAX_CHUNKS_IN_FLIGHT: String(LINES / CHUNK_SIZE),
    },
  });
  await h.start({ workers: 0 });
  const [, started] = await Promise.all([h.startWorker(), h.startApi()]);
  api = started.base;
  if (PROMETHEUS) await startPrometheus(Number(new URL(api).port), workerPort);
}, 120_000);

afterAll(async () => {
  await prometheus?.child.stop(10_000);
  const passed = finished.size === TESTS;
  if (prometheus && passed) rmSync(prometheus.dir, { recursive: true, force: true });
  await h?.shutdown(!passed);
}, 60_000);

const text = async (url: string): Promise<string> => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.text();
};

describe('metrics of a batch run to the end', () => {
  let view: BatchView;
  let wallSeconds: number;
  let completedAt: number;
  /** The API's /metrics read while the batch ran. */
  let apiWhileRunning: Sample[] = [];

  beforeAll(async () => {
    const started = Date.now();
    const res = await fetch(`${api}/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // One attempt per item: each 500 becomes a dead letter, so the failure rate is the fault rate.
      body: JSON.stringify({ requests: chatLines(LINES, 'metrics'), options: { maxAttempts: 1 } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await h.waitFor(
      'the batch to complete',
      async () => {
        view = (await (await fetch(`${api}/batches/${id}`)).json()) as BatchView;
        // Once a collection made after the start is due (the gauges are cached for COLLECTION_TTL_MS).
        const due = Date.now() > started + COLLECTION_TTL_MS + 100;
        if (due && view.status === 'running' && view.pending > 0 && apiWhileRunning.length === 0)
          apiWhileRunning = samples(await text(`${api}/metrics`));
        return view.status === 'completed';
      },
      60_000,
      250,
    );
    completedAt = Date.now();
    wallSeconds = (completedAt - started) / 1000;
  }, 90_000);

  it('worker: items by outcome, provider calls, 429s and tokens equal the results and /_sim/stats', async () => {
    const worker = samples(await text(workerMetrics));
    const stats = (await (await fetch(`${h.sim.url.replace(/\/v1$/, '')}/_sim/stats`)).json()) as {
      requests: Record<string, Record<string, number>>;
    };
    const chat = stats.requests['/v1/chat/completions'] ?? {};
    const calls = (status: string): number => chat[status] ?? 0;
    const all = Object.values(chat).reduce((a, b) => a + b, 0);
    expect(view.succeeded + view.failed).toBe(LINES);
    expect(view.failed).toBeGreaterThan(0); // 10% faults with one attempt each

    expect(sum(worker, 'llmbatch_items_total', { outcome: 'succeeded', error_code: '' })).toBe(view.succeeded);
    expect(sum(worker, 'llmbatch_items_total', { outcome: 'dead_lettered', error_code: 'retries_exhausted' })).toBe(
      view.failed,
    );
    expect(sum(worker, 'llmbatch_items_total')).toBe(LINES);
    expect(sum(worker, 'llmbatch_provider_requests_total')).toBe(all);
    expect(sum(worker, 'llmbatch_provider_requests_total', { status_class: '2xx' })).toBe(calls('200'));
    expect(sum(worker, 'llmbatch_provider_requests_total', { status_class: '5xx' })).toBe(
      calls('500') + calls('502') + calls('503'),
    );
    expect(calls('429')).toBeGreaterThan(0);
    expect(sum(worker, 'llmbatch_provider_rate_limited_total')).toBe(calls('429'));
    expect(sum(worker, 'llmbatch_provider_requests_total', { status_class: '4xx' })).toBe(calls('429'));
    expect(sum(worker, 'llmbatch_tokens_total', { direction: 'input' })).toBe(view.tokensIn);
    expect(sum(worker, 'llmbatch_tokens_total', { direction: 'output' })).toBe(view.tokensOut);
    expect(sum(worker, 'llmbatch_batches_finished_total', { status: 'completed' })).toBe(1);

    // Histograms have counts: one latency per provider call, one duration and one queue delay per chunk attempt.
    expect(sum(worker, 'llmbatch_provider_request_duration_seconds_count')).toBe(all);
    const attempts = sum(worker, 'llmbatch_chunk_attempts_total');
    expect(attempts).toBeGreaterThanOrEqual(LINES / CHUNK_SIZE);
    expect(sum(worker, 'llmbatch_chunk_duration_seconds_count')).toBe(attempts);
    expect(sum(worker, 'llmbatch_chunk_schedule_to_start_seconds_count')).toBe(attempts);
    // The Temporal SDK's own worker metrics are served with ours.
    expect(worker.some((s) => s.name.startsWith('temporal_'))).toBe(true);
    // No batch id or custom_id as a label.
    expect(JSON.stringify(worker)).not.toContain(view.batchId);
    expect(JSON.stringify(worker)).not.toContain('metrics-1');
    finished.add('worker');
  });

  withPrometheus('Prometheus: the failure-rate and queue-delay series as the rules write them', async () => {
    const q = (query: string) => promQuery(prometheus!.url, query);
    // Let a scrape and a rule evaluation see the final counts.
    await sleep(2_500);
    expect(await q('sum(llmbatch_items_total)')).toEqual([LINES]);
    expect(await q('sum(llmbatch_items_total{outcome="dead_lettered"})')).toEqual([view.failed]);

    // rate() counts from a series' first scrape, so a second of increments may be missed: close, not exact.
    const [ratio] = await q('llmbatch:item_failure_ratio:rate5m{tenant="local",model="gpt-4o-mini"}');
    expect(ratio).toBeCloseTo(view.failed / LINES, 1);
    // Over 5% for less than its `for:`: the alert is pending.
    expect(await q('ALERTS{alertname="LlmbatchHighItemFailureRate",alertstate="pending"}')).toEqual([1]);

    // Queue delay: 20 chunks queued at once under a 2-chunks-a-second queue limit wait up to ~10 s to start. The
    // estimate must fall in the bucket that holds the 95th percentile of what the worker observed.
    const [p95] = await q(`llmbatch:chunk_schedule_to_start_seconds:p95_5m{task_queue="${h.taskQueue}"}`);
    const worker = samples(await text(workerMetrics));
    const [lower, upper] = quantileBucket(worker, 'llmbatch_chunk_schedule_to_start_seconds', 0.95);
    expect(lower).toBeGreaterThanOrEqual(1); // the queue limit made chunks wait
    expect(p95).toBeGreaterThanOrEqual(lower);
    expect(p95).toBeLessThanOrEqual(upper);
    // The API's gauge rose while chunks waited, and fell back to 0 when the batch ended.
    const [oldest] = await q('max_over_time(llmbatch_oldest_pending_chunk_age_seconds[5m])');
    expect(oldest).toBeGreaterThan(1);
    expect(oldest).toBeLessThanOrEqual(wallSeconds);
    expect(await q('llmbatch_oldest_pending_chunk_age_seconds')).toEqual([0]);

    // Every rule evaluates cleanly against the real series.
    const rules = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const unhealthy = rules.data.groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok');
    expect(unhealthy).toEqual([]);
    finished.add('prometheus');
  });

  it('API: submissions, open batches while it ran, HTTP requests by route pattern', async () => {
    const realtime = { tenant: 'local', mode: 'realtime' };
    expect(sum(apiWhileRunning, 'llmbatch_batches', { ...realtime, status: 'running' })).toBe(1);
    expect(sum(apiWhileRunning, 'llmbatch_items_pending', realtime)).toBeGreaterThan(0);
    // Chunks waited in the rate-limited queue while it ran.
    expect(sum(apiWhileRunning, 'llmbatch_oldest_pending_chunk_age_seconds')).toBeGreaterThan(0);
    // The gauges are read from Temporal at most every 5 s: wait out a collection made while it ran.
    await sleep(Math.max(0, completedAt + COLLECTION_TTL_MS + 100 - Date.now()));
    const now = samples(await text(`${api}/metrics`));
    expect(sum(now, 'llmbatch_batches')).toBe(0);
    expect(sum(now, 'llmbatch_items_pending')).toBe(0);
    expect(sum(now, 'llmbatch_batches_submitted_total', realtime)).toBe(1);
    expect(sum(now, 'llmbatch_items_submitted_total', realtime)).toBe(LINES);
    expect(sum(now, 'llmbatch_lane_limit', { limit: 'rpm', source: 'configured' })).toBe(RPM);
    expect(sum(now, 'llmbatch_lane_limit', { limit: 'rpm', source: 'server' })).toBe(RPM);
    const polls = sum(now, 'llmbatch_http_requests_total', { route: '/batches/:id', status_class: '2xx' });
    expect(polls).toBeGreaterThan(0);
    expect(sum(now, 'llmbatch_http_requests_total', { route: '/batches', method: 'POST' })).toBe(1);
    expect(sum(now, 'llmbatch_http_request_duration_seconds_count', { route: '/batches/:id' })).toBe(polls);
    expect(JSON.stringify(now)).not.toContain(view.batchId);
    expect(now.some((s) => s.name === 'llmbatch_api_process_cpu_seconds_total')).toBe(true);
    finished.add('api');
  });
});
