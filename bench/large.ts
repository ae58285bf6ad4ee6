/**
 * `npm run bench:large -- [items]` (default 1,000,000): one realtime batch of that many items through
 * the real stack against the zero-latency simulator. Checks what the design promises at that size:
 * every custom_id exactly once, and no workflow run's history past Temporal's 10,240-event warning
 * (the workflow continues as new). Prints the figures and appends them to docs/benchmarks.md.
 *
 * The input goes to the store directly and the workflow is started as the API would: a JSON POST
 * of a million requests is beyond the API's documented 100 MB body limit.
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { makeReviewRequests } from '../examples/reviews';
import { loadConfig } from '../src/config';
import { batchWorkflowId, type BatchLine, type BatchWorkflowInput } from '../src/shared/contracts';
import { estimateTokens } from '../src/shared/tokens';
import { FileBatchStore } from '../src/storage/fileStore';
import { withStack } from './stack';

const HISTORY_WARNING = 10_240;

function* lines(n: number): Generator<BatchLine> {
  // Generated in slices so a million request bodies never sit in memory at once.
  const slice = 10_000;
  for (let start = 0; start < n; start += slice) {
    for (const l of makeReviewRequests(Math.min(slice, n - start), start + 1)) yield { ...l, custom_id: `r-${start}-${l.custom_id}` };
  }
}

async function main(): Promise<void> {
  const items = Number(process.argv[2] ?? 1_000_000);
  const settings = { chunkSize: 100, maxChunksInFlight: 16, itemConcurrency: 64, workerConcurrency: 64, simEnv: {} };
  console.log(`bench:large: ${items} items, SIMULATED provider (zero latency), one worker process`);
  const report = await withStack(settings, false, async ({ stack, dataDir }) => {
    const config = loadConfig(process.env); // withStack has set the stack's environment
    const store = new FileBatchStore(dataDir);
    const batchId = randomUUID();
    const t0 = performance.now();
    const manifest = await store.putInput(batchId, lines(items), settings.chunkSize, { max: config.batch.chunkTokens, of: estimateTokens });
    const ingestS = (performance.now() - t0) / 1000;
    const connection = await Connection.connect({ address: stack.urls.temporal });
    const client = new Client({ connection });
    try {
      const input: BatchWorkflowInput = { batchId, total: manifest.total, chunkCount: manifest.chunkCount, chunkSize: manifest.chunkSize, maxChunksInFlight: settings.maxChunksInFlight };
      const handle = await client.workflow.start('batchWorkflow', { workflowId: batchWorkflowId(batchId), taskQueue: config.temporal.taskQueue, args: [input] });
      const t1 = performance.now();
      let last = 0;
      const timer = setInterval(() => {
        void handle.query('progress').then((p) => {
          const { succeeded, runs } = p as { succeeded: number; runs: number };
          if (succeeded - last >= 50_000) console.log(`  ${succeeded} done, run ${runs}, ${Math.round(succeeded / ((performance.now() - t1) / 1000))} req/s`);
          last = succeeded - (succeeded % 50_000);
        }, () => undefined);
      }, 10_000);
      const result = await handle.result().finally(() => clearInterval(timer));
      const runS = (performance.now() - t1) / 1000;
      // Every run of the chain: its history length.
      const lengths: number[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${batchWorkflowId(batchId)}'` })) lengths.push(w.historyLength);
      const ids = new Set<string>();
      let records = 0;
      for await (const r of store.streamResults(batchId)) {
        records += 1;
        ids.add(r.custom_id);
      }
      return { items, chunks: manifest.chunkCount, ingestS, runS, result, lengths, records, distinct: ids.size };
    } finally {
      await connection.close();
    }
  });
  const maxHistory = Math.max(...report.lengths);
  const ok = report.result.status === 'completed' && report.result.succeeded === items && report.distinct === items && report.records === items && maxHistory < HISTORY_WARNING;
  const text = [
    '',
    `## Large batch (\`npm run bench:large -- ${items}\`), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- ${items.toLocaleString('en-US')} chat items in ${report.chunks.toLocaleString('en-US')} chunks, zero-latency simulator, one worker process, ${settings.workerConcurrency} requests in flight.`,
    `- Ingest into the store ${report.ingestS.toFixed(0)} s; workflow start to completion ${report.runS.toFixed(0)} s (${Math.round(items / report.runS)} req/s).`,
    `- ${report.result.succeeded.toLocaleString('en-US')} succeeded, ${report.result.failed} failed; results hold ${report.distinct.toLocaleString('en-US')} distinct custom_ids in ${report.records.toLocaleString('en-US')} records.`,
    `- ${report.lengths.length} workflow runs (continue-as-new); longest history ${maxHistory.toLocaleString('en-US')} events (Temporal warns at ${HISTORY_WARNING.toLocaleString('en-US')}).`,
    `- ${ok ? 'PASS' : 'FAIL'}.`,
    '',
  ].join('\n');
  console.log(text);
  await appendFile('docs/benchmarks.md', text);
  if (!ok) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
