/** A batch's plan is made once, and the owner record, /v1's hook and the workflow start all follow it. */
import type { Client } from '@temporalio/client';
import { BatchCreator, type NewBatch } from '../../src/api/createBatch';
import { OWNER_RECORD } from '../../src/api/owner';
import { planBatch, type BatchPlan } from '../../src/api/plan';
import { loadConfig } from '../../src/config';
import { chatLines, MemoryStore } from '../helpers/fakes';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const config = loadConfig({
  LLMBATCH_AUTH: 'local',
  TEMPORAL_TASK_QUEUE: 'q',
  LLMBATCH_AUTO_NATIVE_MIN_ITEMS: '5',
  LLMBATCH_LANES: '[{"name":"bulk","model":"gpt-4o-mini","rpm":60}]',
});
const tenant = config.auth.tenants[0]!;

/** A store that counts every write of each record kind. */
class CountingStore extends MemoryStore {
  writes: Array<{ batchId: string; kind: string; record: unknown }> = [];
  override async putRecord(batchId: string, kind: string, record: unknown): Promise<void> {
    this.writes.push({ batchId, kind, record });
    await super.putRecord(batchId, kind, record);
  }
}

function fakeClient() {
  type Options = { taskQueue: string; args: unknown[]; staticSummary?: string; staticDetails?: string };
  const starts: Array<{ type: string; options: Options }> = [];
  const client = {
    workflow: {
      start: async (type: string, options: (typeof starts)[number]['options']) => {
        starts.push({ type, options });
        return {};
      },
    },
  } as unknown as Client;
  return { client, starts };
}

function newBatch(items: number, options: NewBatch['request']['options'], extra: Partial<NewBatch> = {}): NewBatch {
  return {
    batchId: `batch_${'0'.repeat(23)}${items % 10}`,
    tenant,
    api: 'project',
    request: { requests: [], options },
    lines: chatLines(items).map((request, at) => ({ at, request })),
    position: 'index',
    nowMs: NOW,
    ...extra,
  };
}

describe('creating a batch follows one plan', () => {
  it('auto choosing native: the owner record is written once, with the mode and reason the workflow gets', async () => {
    const store = new CountingStore();
    const { client, starts } = fakeClient();
    const created = await new BatchCreator({ client, store, config }).create(newBatch(8, { mode: 'auto' }));
    expect(created).toMatchObject({ mode: 'native', modeReason: expect.stringContaining('auto: 8 items') });
    const ownerWrites = store.writes.filter((w) => w.kind === OWNER_RECORD);
    expect(ownerWrites).toHaveLength(1);
    expect(ownerWrites[0]?.record).toMatchObject({ mode: 'native', modeReason: created.modeReason, total: 8 });
    expect(starts).toHaveLength(1);
    expect(starts[0]?.type).toBe('nativeBatchWorkflow');
    expect(starts[0]?.options.taskQueue).toBe('q');
    // The Web UI's summary names the mode; its details say why.
    expect(starts[0]?.options.staticSummary).toBe(`8 × gpt-4o-mini chat · native · tenant ${tenant.id}`);
    expect(starts[0]?.options.staticDetails).toContain(`**mode** native: ${created.modeReason}`);
    expect(starts[0]?.options.args[0]).toMatchObject({
      total: 8,
      activityTaskQueue: 'q@native',
      modeReason: created.modeReason,
      tenant: tenant.id,
      price: config.prices['gpt-4o-mini'],
    });
  });

  it('realtime on a named lane: one owner write, and beforeStart sees the plan after it', async () => {
    const store = new CountingStore();
    const { client, starts } = fakeClient();
    const seen: BatchPlan[] = [];
    const beforeStart = async (_manifest: unknown, plan: BatchPlan) => {
      expect(store.writes.filter((w) => w.kind === OWNER_RECORD)).toHaveLength(1);
      seen.push(plan);
    };
    const created = await new BatchCreator({ client, store, config }).create(
      newBatch(3, { mode: 'auto', lane: 'bulk' }, { beforeStart }),
    );
    expect(created).toMatchObject({ mode: 'realtime', modeReason: expect.stringContaining('under the 5') });
    expect(store.writes.filter((w) => w.kind === OWNER_RECORD)).toHaveLength(1);
    expect(seen.map((p) => p.mode)).toEqual(['realtime']);
    expect(starts.map((s) => s.type)).toEqual(['batchWorkflow']);
    expect(starts[0]?.options.args[0]).toMatchObject({
      total: 3,
      chunkSize: config.batch.chunkSize,
      lane: { name: 'bulk', taskQueue: 'q@lane@bulk' },
      modeReason: created.modeReason,
    });
  });

  it('a refused request writes nothing and starts nothing', async () => {
    const store = new CountingStore();
    const { client, starts } = fakeClient();
    const creator = new BatchCreator({ client, store, config });
    await expect(creator.create(newBatch(3, { lane: 'nope' }))).rejects.toThrow('options.lane: no lane named nope');
    expect(store.writes).toEqual([]);
    expect(starts).toEqual([]);
  });
});

describe('planBatch', () => {
  const owner = { tenant: 't' };
  const mixed = [...chatLines(1), { ...chatLines(1)[0]!, custom_id: 'x', body: { model: 'gpt-4o', messages: [] } }];

  it('prices a one-model batch, and not a mixed one, which auto keeps in realtime', () => {
    const one = planBatch({ requests: [] }, { total: 10, representatives: chatLines(1) }, owner, config, NOW);
    expect(one.input.price).toEqual(config.prices['gpt-4o-mini']);
    const two = planBatch(
      { requests: [], options: { mode: 'auto' } },
      { total: 10, representatives: mixed },
      owner,
      config,
      NOW,
    );
    expect(two).toMatchObject({ mode: 'realtime', modeReason: expect.stringContaining('more than one model') });
    expect(two.input.price).toBeUndefined();
  });

  it('runs store work off the rate-limited queues, and a gathered batch’s chunks too (the lanes pace them)', () => {
    const one = { total: 3, representatives: chatLines(1) };
    const onLane = { requests: [], options: { lane: 'bulk' } };
    const ordinary = planBatch(onLane, one, owner, config, NOW);
    expect(ordinary.input).toMatchObject({ activityTaskQueue: 'q@native', lane: { taskQueue: 'q@lane@bulk' } });
    expect(ordinary.input).not.toHaveProperty('chunkTaskQueue', expect.anything());
    const gathered = planBatch(onLane, one, owner, config, NOW, true);
    expect(gathered.input).toMatchObject({ activityTaskQueue: 'q@native', chunkTaskQueue: 'q@native' });
  });

  it('gives the native fallback the batch’s limits', () => {
    const plan = planBatch(
      { requests: [], options: { mode: 'native', maxChunksInFlight: 3, maxAttempts: 2 } },
      { total: 10, representatives: chatLines(1) },
      owner,
      config,
      NOW,
    );
    expect(plan).toMatchObject({ mode: 'native', modeReason: null, taskQueue: 'q' });
    expect(plan.input).toMatchObject({
      realtime: { chunkSize: config.batch.chunkSize, maxChunksInFlight: 3, maxAttempts: 2 },
    });
  });
});
