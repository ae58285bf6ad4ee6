/**
 * Scenario 1 of `npm run bench` alone (zero-latency simulator, N requests, concurrency 64, the engine at
 * its defaults, 1,000 warm-up requests per side), once per worker HTTP client: Node's built-in fetch
 * (`LLMBATCH_PROVIDER_HTTP=fetch`, the client before docs/overhead.md) and providerFetch (the default),
 * in alternating stacks. Prints per-process CPU ms per request, throughput and ratios for each run.
 * Nothing is written to the docs.
 *
 *   npx tsx bench/overhead.ts [--n 20000] [--rounds 2] [--quiet-wait-s 60]
 */
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import type { BatchLine } from '../src/shared/contracts';
import { runLoop } from './baseline';
import { cpuMeter, waitQuiet, type CpuSample } from './cpu';
import { runBatch, simCalls, simReset, stopAll, withStack, type BenchStack, type EngineSettings } from './stack';

const say = (m: string): void => console.log(`overhead: ${m}`);

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const PROCESSES = ['bench', 'provider', 'temporal', 'worker', 'api'] as const;

function perRequest(cpu: CpuSample, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of PROCESSES) out[p] = ((cpu.byName[p] ?? 0) * 1000) / n;
  out.total = (Object.values(cpu.byName).reduce((a, b) => a + b, 0) * 1000) / n;
  return out;
}

interface Run {
  client: string;
  loopRps: number;
  llmRps: number;
  loop: Record<string, number>;
  llm: Record<string, number>;
  coresLoop: number;
  coresLlm: number;
}

async function measure(s: BenchStack, client: string, lines: BatchLine[], quietMs: number): Promise<Run> {
  const groups = Object.fromEntries(s.stack.children.map((c) => [c.spec.name, c.process.pid]));
  const n = lines.length;
  await waitQuiet(quietMs, say);
  await simReset(s.simOrigin);
  let meter = cpuMeter(groups);
  const loopRun = await runLoop(s.stack.urls.provider, lines, 64);
  const loopCpu = meter();
  if ((await simCalls(s.simOrigin)) !== n) throw new Error('loop: call count differs from N');
  await waitQuiet(quietMs, say);
  await simReset(s.simOrigin);
  meter = cpuMeter(groups);
  const run = await runBatch(s.api, lines, 100);
  const llmCpu = meter();
  if ((await simCalls(s.simOrigin)) !== n) throw new Error('llmbatch: call count differs from N');
  return {
    client,
    loopRps: n / (loopRun.ms / 1000),
    llmRps: n / (run.doneMs / 1000),
    loop: perRequest(loopCpu, n),
    llm: perRequest(llmCpu, n),
    coresLoop: loopCpu.coresBusy,
    coresLlm: llmCpu.coresBusy,
  };
}

async function main(): Promise<void> {
  const n = flag('n', 20_000);
  const rounds = flag('rounds', 2);
  const quietMs = flag('quiet-wait-s', 60) * 1000;
  const d = loadConfig({}).batch;
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const client of ['fetch', 'keepalive']) {
      const e: EngineSettings = {
        chunkSize: d.chunkSize,
        maxChunksInFlight: d.maxChunksInFlight,
        itemConcurrency: d.itemConcurrency,
        workerConcurrency: 64,
        simEnv: { SIM_SEED: '1' },
        engineEnv: { LLMBATCH_PROVIDER_HTTP: client },
      };
      const r = await withStack(e, false, async (s) => {
        const warm = makeReviewRequests(1000, 7);
        await runLoop(s.stack.urls.provider, warm, 64);
        await runBatch(s.api, warm, 100);
        return measure(s, client, makeReviewRequests(n, 42), quietMs);
      });
      const f = (x: Record<string, number>): string =>
        PROCESSES.map((p) => `${p} ${x[p]?.toFixed(3)}`).join(', ') + `, total ${x.total?.toFixed(3)}`;
      say(
        `round ${round}, worker client ${client}: loop ${r.loopRps.toFixed(0)} req/s, llmbatch ` +
          `${r.llmRps.toFixed(0)} req/s, ratio ${(r.llmRps / r.loopRps).toFixed(2)}`,
      );
      say(`  CPU ms/req, loop run:     ${f(r.loop)} (${r.coresLoop.toFixed(2)} cores busy)`);
      say(
        `  CPU ms/req, llmbatch run: ${f(r.llm)} (${r.coresLlm.toFixed(2)} cores busy); CPU ratio loop/llmbatch ` +
          `${((r.loop.total ?? 0) / (r.llm.total ?? 1)).toFixed(2)}`,
      );
      runs.push(r);
    }
  }
  console.log(
    '\n| round | worker HTTP client | loop req/s | llmbatch req/s | ratio | loop CPU ms/req (bench / provider / ' +
      'total) | llmbatch CPU ms/req (worker / provider / Temporal / API / poller / total) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  runs.forEach((r, i) => {
    const l = r.loop;
    const m = r.llm;
    console.log(
      `| ${Math.floor(i / 2) + 1} | ${r.client} | ${r.loopRps.toFixed(0)} | ${r.llmRps.toFixed(0)} | ` +
        `${(r.llmRps / r.loopRps).toFixed(2)}× | ` +
        `${l.bench?.toFixed(3)} / ${l.provider?.toFixed(3)} / ${l.total?.toFixed(3)} | ` +
        `${m.worker?.toFixed(3)} / ${m.provider?.toFixed(3)} / ${m.temporal?.toFixed(3)} / ${m.api?.toFixed(3)} ` +
        `/ ${m.bench?.toFixed(3)} / ${m.total?.toFixed(3)} |`,
    );
  });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(`overhead: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
