/**
 * The worker's one /metrics: llmbatch's registry followed by the Temporal SDK's exposition (fetched per scrape),
 * ours alone when the SDK's exporter does not answer, and a port it cannot bind failing with the variable's name.
 * The last test installs the SDK runtime with its Prometheus exporter and runs a worker on a dev server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { workerMetricsUrl } from '../../src/cli/stack';
import { createWorkerMetrics } from '../../src/metrics/workerMetrics';
import { startMetricsServer, startWorkerTelemetry, type MetricsServer } from '../../src/worker/metricsServer';
import { installWorkerRuntime } from '../../src/worker/runtime';
import { freePort, waitFor } from '../durability/harness';
import { startDevServer } from '../helpers/temporal';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('worker /metrics', () => {
  const closing: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of closing.reverse()) await close();
  });

  async function serve(sdkMetricsUrl?: string): Promise<{ server: MetricsServer; registry: Registry }> {
    const metrics = createWorkerMetrics(new Registry());
    metrics
      .items({ tenant: 'acme', model: 'gpt-4o-mini', endpoint: '/v1/chat/completions', mode: 'realtime' })
      .cacheHit();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, sdkMetricsUrl });
    closing.push(() => server.close());
    return { server, registry: metrics.registry };
  }

  it("answers with ours, then the SDK exporter's exposition", async () => {
    const sdk = createServer((_req, res) => res.end('# TYPE temporal_fake_total counter\ntemporal_fake_total 3\n'));
    const sdkUrl = await listen(sdk);
    closing.push(() => new Promise((resolve) => sdk.close(resolve)));
    const { server } = await serve(`${sdkUrl}/metrics`);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^llmbatch_cache_hits_total\{tenant="acme",model="gpt-4o-mini",.*\} 1$/m);
    expect(text).toMatch(/^llmbatch_worker_process_cpu_seconds_total /m);
    expect(text).toMatch(/^temporal_fake_total 3$/m);
    expect(text.indexOf('llmbatch_items_total')).toBeLessThan(text.indexOf('temporal_fake_total'));
    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('still answers with ours when the SDK exporter does not', async () => {
    const { server } = await serve(`http://127.0.0.1:${await freePort()}/metrics`);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^llmbatch_items_total\{.*outcome="succeeded".*\} 1$/m);
    expect(text).toMatch(/^# Temporal SDK metrics unavailable: /m);
  });

  it('fails naming LLMBATCH_WORKER_METRICS_PORT when the port is taken', async () => {
    const { server } = await serve();
    const port = Number(new URL(server.url).port);
    await expect(startWorkerTelemetry({ host: '127.0.0.1', port })).rejects.toThrow(
      /^LLMBATCH_WORKER_METRICS_PORT: cannot serve metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
    const off = await startWorkerTelemetry(undefined);
    expect([off.url, off.metrics, off.sdkBindAddress]).toEqual([undefined, undefined, undefined]);
  });

  it("finds the URL in the worker's start line, plain or logged as JSON", () => {
    const line =
      'llmbatch worker on task queue "q" at a; provider p; files in d; metrics http://127.0.0.1:41234/metrics';
    expect(workerMetricsUrl(line)).toBe('http://127.0.0.1:41234/metrics');
    expect(workerMetricsUrl(JSON.stringify({ level: 30, msg: line }))).toBe('http://127.0.0.1:41234/metrics');
    expect(workerMetricsUrl('llmbatch worker on task queue "q" at a; provider p; files in d')).toBeUndefined();
  });

  it("serves the Temporal SDK's worker metrics of a running worker (dev server)", async () => {
    const telemetry = await startWorkerTelemetry({ host: '127.0.0.1', port: 0 });
    closing.push(() => telemetry.close());
    // Before the dev server's connection: the runtime is created once, by whichever comes first.
    installWorkerRuntime({ metricsBindAddress: telemetry.sdkBindAddress, logger: new DefaultLogger('WARN') });
    const env: TestWorkflowEnvironment = await startDevServer();
    closing.push(() => env.teardown());
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'metrics-test',
      activities: { noop: async () => {} },
    });
    const scrape = async () => (await fetch(telemetry.url as string)).text();
    await worker.runUntil(async () => {
      await waitFor('temporal_* worker metrics', async () => /^temporal_num_pollers\{/m.test(await scrape()), 20_000);
    });
    const text = await scrape();
    expect(text).toMatch(/^llmbatch_worker_nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*task_queue="metrics-test"/m);
    expect(text).not.toMatch(/Temporal SDK metrics unavailable/);
  }, 30_000);
});
