/**
 * `npm run demo`: starts the stack, runs a 1,000-request review-sentiment
 * batch through the API, shows progress, writes the results, stops, exits 0.
 */
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { makeReviewRequests } from '../../examples/reviews';
import { loadConfigOrExit, type Config } from '../config';
import type { BatchOutputLine } from '../shared/contracts';
import type { BatchView, CreatedBatchView } from '../shared/views';
import { ApiClient, progressBar } from './apiClient';
import { startStack, stopOnSignals } from './stack';

const say = (m: string): void => console.log(`demo: ${m}`);

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((ok) => {
    const probe = createServer().once('error', () => ok(false));
    probe.listen(port, host, () => probe.close(() => ok(true)));
  });
}

async function checkPorts(config: Config): Promise<void> {
  const [host = '127.0.0.1', port = '7233'] = config.temporal.address.split(':');
  const wanted: [string, number][] = [
    ['TEMPORAL_ADDRESS', Number(port)],
    ['TEMPORAL_UI_PORT', config.temporal.uiPort],
    ['API_PORT', config.api.port],
    ...(config.provider.simulated ? [['PROVIDER_PORT', config.provider.simulatorPort] as [string, number]] : []),
  ];
  for (const [name, p] of wanted) {
    if (!(await portFree(p, name === 'API_PORT' ? config.api.host : host))) {
      throw new Error(`port ${p} (${name}) is in use: stop whatever holds it (\`npm start\`?) or set ${name}`);
    }
  }
}

async function main(): Promise<void> {
  // The demo's stack is local mode: one tenant, no API keys, the API on loopback only.
  process.env.LLMBATCH_AUTH = 'local';
  const config = loadConfigOrExit();
  const count = Number(process.env.DEMO_COUNT ?? (config.provider.simulated ? 1000 : 20));
  say(
    config.provider.simulated
      ? 'provider: the bundled SIMULATED OpenAI-compatible provider. Answers are generated, not from a real LLM.'
      : `provider: ${config.provider.baseURL} (a REAL provider: ${count} requests will be billed;` +
          ' set DEMO_COUNT to change)',
  );
  await checkPorts(config);
  const stack = await startStack(config, {
    providerEnv: { SIM_LATENCY_MEDIAN_MS: '150', SIM_LATENCY_P99_MS: '600' },
    log: say,
  });
  // Stopped early (Ctrl-C, a closed terminal): the stack goes down with the demo, which has not succeeded.
  stopOnSignals(stack, say, 1);
  let ok = false;
  try {
    say(`stack up: API ${stack.urls.api}, Temporal Web UI ${stack.urls.webUi}`);
    const client = new ApiClient(stack.urls.api);
    const requests = makeReviewRequests(count, 42, config.batch.defaultModel ?? 'gpt-4o-mini');
    const created = await client.json<CreatedBatchView>('POST', '/batches', { requests });
    say(`batch ${created.id}: ${count} review-sentiment requests (workflow batch-${created.id})`);

    let progress: BatchView;
    let last = '';
    for (;;) {
      progress = await client.json<BatchView>('GET', `/batches/${created.id}`);
      const line = progressBar(progress);
      if (line !== last) say(line);
      last = line;
      if (progress.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const outDir = resolve(join(config.dataDir, 'results'));
    mkdirSync(outDir, { recursive: true });
    const outFile = join(outDir, `${created.id}.jsonl`);
    await pipeline(await client.results(created.id), createWriteStream(outFile));

    const lines = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BatchOutputLine);
    const tally = new Map<string, number>();
    for (const l of lines) {
      const body = l.response?.body as { choices?: { message?: { content?: string } }[] } | undefined;
      const answer = body?.choices?.[0]?.message?.content?.trim().toLowerCase() ?? `error:${l.error?.code}`;
      tally.set(answer, (tally.get(answer) ?? 0) + 1);
    }
    say(`results: ${lines.length} lines written to ${outFile}`);
    say(`answers: ${[...tally].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    ok =
      progress.status === 'completed' &&
      lines.length === count &&
      new Set(lines.map((l) => l.custom_id)).size === count;
    if (!ok) say(`expected ${count} distinct results from a completed batch; got ${lines.length} (${progress.status})`);
  } finally {
    say('stopping the stack');
    await stack.stop();
  }
  say(ok ? 'done.' : 'FAILED.');
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
