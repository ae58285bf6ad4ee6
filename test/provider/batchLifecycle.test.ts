import type OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { chatLine, clientFor, failureOf, readJsonl, uploadJsonl, waitForBatch } from './helpers';

/** Slow batches: 20 lines/s, so cancel and expiry land mid-way. */
let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ batchValidatingMs: 10, batchFinalizingMs: 50, batchLinesPerSecond: 20 });
  client = clientFor(sim);
});
afterAll(() => sim.close());

const lines = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => chatLine(`${prefix}-${i}`, `${prefix} request ${i}`));

it('cancel mid-way: cancelling then cancelled, partial output kept, counts consistent', async () => {
  const input = lines(200, 'cancel');
  const created = await client.batches.create({
    input_file_id: (await uploadJsonl(client, input)).id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  await waitForBatch(client, created.id, (b) => b.status === 'in_progress' && b.request_counts!.completed >= 5);

  const cancelling = await client.batches.cancel(created.id);
  expect(cancelling.status).toBe('cancelling');
  expect(cancelling.cancelling_at).not.toBeNull();
  // Cancelling twice is harmless.
  expect((await client.batches.cancel(created.id)).status).toMatch(/^cancell(ing|ed)$/);

  const batch = await waitForBatch(client, created.id);
  expect(batch.status).toBe('cancelled');
  expect(batch.cancelled_at).not.toBeNull();
  expect(batch.completed_at).toBeNull();
  const counts = batch.request_counts!;
  expect(counts.total).toBe(200);
  expect(counts.completed).toBeGreaterThanOrEqual(5);
  expect(counts.completed).toBeLessThan(200);

  const output = await readJsonl(client, batch.output_file_id);
  expect(output).toHaveLength(counts.completed);
  expect(await readJsonl(client, batch.error_file_id)).toHaveLength(counts.failed);
  // Lines run in file order, so the kept output is a prefix of the input.
  expect(output.map((l) => l.custom_id)).toEqual(input.slice(0, counts.completed).map((l) => l.custom_id));

  // A finished batch can no longer be cancelled.
  const error = await failureOf(client.batches.cancel(created.id));
  expect(error.status).toBe(409);
});

it('expiry: finished lines in the output, batch_expired for every other custom_id', async () => {
  sim.configure({ completionWindowMs: 600 });
  try {
    const input = lines(100, 'expire');
    const created = await client.batches.create({
      input_file_id: (await uploadJsonl(client, input)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const batch = await waitForBatch(client, created.id);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).not.toBeNull();

    const output = await readJsonl(client, batch.output_file_id);
    const errors = await readJsonl(client, batch.error_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(output.length).toBeLessThan(100);
    expect(output.length + errors.length).toBe(100);
    for (const line of errors) {
      expect(line.response).toBeNull();
      expect(line.error!.code).toBe('batch_expired');
    }
    const allIds = [...output, ...errors].map((l) => l.custom_id).sort();
    expect(allIds).toEqual(input.map((l) => l.custom_id).sort());
    expect(batch.request_counts).toEqual({ total: 100, completed: output.length, failed: errors.length });
  } finally {
    sim.configure({ completionWindowMs: 86_400_000 });
  }
});

it('counts batches by status in stats', async () => {
  const stats = sim.stats();
  expect(stats.batches.created).toBe(2);
  expect(stats.batches.byStatus).toMatchObject({ cancelled: 1, expired: 1, in_progress: 0 });
});
