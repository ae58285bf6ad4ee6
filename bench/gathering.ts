/**
 * Scenario 9 (`npm run bench -- --only 9`): seed 001's table, in one run against one simulator with an RPM limit.
 * The same chat requests sent four ways: one at a time straight to the provider; the hand-written concurrent loop
 * (64 lanes, the official client, a 429 retried after its Retry-After); `POST /requests` from 200 client
 * connections, gathered into batches; and one native batch. Throughput, p50/p95 latency per request, and the 429
 * share at the provider. Then one request at a time, direct and through `/requests`: the gathering's overhead.
 * Targets: gathering reaches ≥ 90% of the provider's limit with < 1% 429s; its p50 overhead over a direct call is
 * at most max wait + 50 ms.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { int, md, ms, pct } from './format';
import { runBatch, simConfigure, simReset, withStack, type StoreKind } from './stack';

const RPM = 6_000;
const MAX_WAIT_MS = 200;
const LATENCY = { latencyMedianMs: 200, latencyP99Ms: 400 };

export interface Row {
  name: string;
  requests: number;
  ms: number;
  latencies: number[];
  limited: number;
  calls: number;
}

export interface GatheringResult {
  rows: Row[];
  /** One request at a time: p50 direct, and p50 through /requests. */
  alone: { direct: number; gathered: number };
}

const chat = (i: number) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: `Review ${i}: good value.` }],
});
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

/** Chat calls the simulator answered since its last reset, and how many of them were 429s. */
async function providerCounts(simOrigin: string): Promise<{ calls: number; limited: number }> {
  const stats = (await (await fetch(`${simOrigin}/_sim/stats`)).json()) as {
    requests: Record<string, Record<string, number>>;
  };
  const byStatus = stats.requests['/v1/chat/completions'] ?? {};
  return { calls: Object.values(byStatus).reduce((a, b) => a + b, 0), limited: byStatus['429'] ?? 0 };
}

/** The direct call a user writes: the official client, a 429 sent again after the wait it asks for. */
async function direct(client: OpenAI, i: number): Promise<void> {
  for (;;) {
    try {
      await client.chat.completions.create(chat(i) as ChatCompletionCreateParamsNonStreaming);
      return;
    } catch (err) {
      if (!(err instanceof OpenAI.RateLimitError)) throw err;
      await sleep(Number(err.headers?.get('retry-after-ms')) || 1000);
    }
  }
}

async function viaRequests(api: string, i: number): Promise<void> {
  const res = await fetch(`${api}/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ body: chat(i), custom_id: `r-${i}` }),
  });
  const body = (await res.json()) as { status?: string; custom_id?: string };
  if (res.status !== 200 || body.status !== 'completed' || body.custom_id !== `r-${i}`)
    throw new Error(`POST /requests ${i}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
}

/** `n` requests on `lanes` lanes, each lane one after another; every request's latency, and the whole time. */
async function inLanes(n: number, lanes: number, each: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(lanes, n) }, async () => {
      while (next < n) {
        const i = next++;
        const sent = performance.now();
        await each(i);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { ms: performance.now() - t0, latencies };
}

async function measured(
  simOrigin: string,
  name: string,
  requests: number,
  run: () => Promise<{ ms: number; latencies: number[] }>,
): Promise<Row> {
  // Each way starts from a full bucket (a fresh rate-limit window) and fresh counts.
  await simReset(simOrigin, { rateLimits: 'full' });
  const { ms: took, latencies } = await run();
  return { name, requests, ms: took, latencies, ...(await providerCounts(simOrigin)) };
}

export async function gatheringScenario(
  o: { gatherRequests: number },
  store: StoreKind,
  say: (m: string) => void,
): Promise<GatheringResult> {
  const n = o.gatherRequests;
  const engine = {
    chunkSize: 100,
    maxChunksInFlight: 16,
    itemConcurrency: 64,
    workerConcurrency: 256,
    simEnv: {},
    store,
    engineEnv: {
      LLMBATCH_GATHER_MAX_ITEMS: '100',
      LLMBATCH_GATHER_MAX_WAIT_MS: String(MAX_WAIT_MS),
      LLMBATCH_NATIVE_POLL_INITIAL_MS: '500',
      LLMBATCH_NATIVE_POLL_MAX_MS: '1000',
    },
  };
  return withStack(engine, false, async (s) => {
    await simConfigure(s.simOrigin, { rpm: RPM, ...LATENCY });
    const client = new OpenAI({ baseURL: `${s.simOrigin}/v1`, apiKey: 'sk-bench', maxRetries: 0 });
    const sequentialN = Math.max(10, Math.round(n / 20));
    const rows: Row[] = [];
    say(`scenario 9: ${sequentialN} sequential calls`);
    rows.push(
      await measured(s.simOrigin, 'sequential single calls (direct)', sequentialN, () =>
        inLanes(sequentialN, 1, (i) => direct(client, i)),
      ),
    );
    say(`scenario 9: ${n} calls, concurrent loop of 64`);
    rows.push(
      await measured(s.simOrigin, 'hand-written concurrent loop, 64 lanes (direct)', n, () =>
        inLanes(n, 64, (i) => direct(client, i)),
      ),
    );
    say(`scenario 9: ${n} POST /requests from 200 connections`);
    rows.push(
      await measured(s.simOrigin, '`POST /requests`, 200 connections, gathered', n, () =>
        inLanes(n, 200, (i) => viaRequests(s.api, i)),
      ),
    );
    say(`scenario 9: one native batch of ${n}`);
    const lines = Array.from({ length: n }, (_, i) => ({
      custom_id: `n-${i}`,
      method: 'POST' as const,
      url: '/v1/chat/completions' as const,
      body: chat(i),
    }));
    rows.push(
      await measured(s.simOrigin, 'native batch (`POST /batches`, mode native)', n, async () => {
        const run = await runBatch(s.api, lines, 250, { mode: 'native' });
        // Every request is answered when the batch is: its latency is the batch's.
        return { ms: run.resultsMs, latencies: lines.map(() => run.resultsMs) };
      }),
    );
    await simReset(s.simOrigin, { rateLimits: 'full' });
    const aloneN = 30;
    const directAlone = await inLanes(aloneN, 1, (i) => direct(client, 100_000 + i));
    const gatheredAlone = await inLanes(aloneN, 1, (i) => viaRequests(s.api, 200_000 + i));
    return {
      rows,
      alone: { direct: quantile(directAlone.latencies, 0.5), gathered: quantile(gatheredAlone.latencies, 0.5) },
    };
  });
}

export function gatheringSection(r: GatheringResult, stamp: string): string {
  const limit = RPM / 60;
  const body = r.rows.map((x) => {
    const rate = (x.requests / x.ms) * 1000;
    return [
      x.name,
      int(x.requests),
      `${rate.toFixed(1)} req/s (${pct(rate / limit)} of the limit)`,
      ms(quantile(x.latencies, 0.5)),
      ms(quantile(x.latencies, 0.95)),
      x.calls ? `${pct(x.limited / x.calls)} (${int(x.limited)} of ${int(x.calls)})` : '– (no realtime calls)',
    ];
  });
  const gathered = r.rows[2]!;
  const share = ((gathered.requests / gathered.ms) * 1000) / limit;
  const limitedShare = gathered.calls ? gathered.limited / gathered.calls : 0;
  const overhead = r.alone.gathered - r.alone.direct;
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
  return [
    '## Scenario 9: single requests, four ways (seed 001)',
    '',
    `- Simulator: ${RPM.toLocaleString('en-US')} RPM limit (1 s burst), ${LATENCY.latencyMedianMs} ms median / ` +
      `${LATENCY.latencyP99Ms} ms p99 latency. The same chat requests each way, each from a fresh rate-limit window.`,
    `- Gathering: \`LLMBATCH_GATHER_MAX_ITEMS=100\`, \`LLMBATCH_GATHER_MAX_WAIT_MS=${MAX_WAIT_MS}\`; each of 200 ` +
      'client connections sends its next request once the last is answered. Direct calls retry a 429 after its ' +
      '`retry-after-ms`; 429s are counted at the provider.',
    '',
    md(['way', 'requests', 'throughput', 'p50 per request', 'p95 per request', '429s at the provider'], body),
    '',
    `- Gathering reached ${pct(share)} of the provider's limit with ${pct(limitedShare)} 429s ` +
      `(target ≥ 90% and < 1%): ${verdict(share >= 0.9 && limitedShare < 0.01)}.`,
    `- One request at a time (30 each): p50 ${ms(r.alone.direct)} direct, ${ms(r.alone.gathered)} through ` +
      `\`/requests\`: ${ms(overhead)} overhead (target ≤ max wait + 50 ms = ${MAX_WAIT_MS + 50} ms): ` +
      `${verdict(overhead <= MAX_WAIT_MS + 50)}.`,
    '',
    stamp,
    '',
  ].join('\n');
}
