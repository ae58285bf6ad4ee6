/**
 * Native mode's activities (upload, create, poll, collect, finish) run on a task queue of their own, so
 * the default queue's RPM/TPM limit, which paces realtime calls, does not hold them back.
 */
import { nativeTaskQueue } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

jest.setTimeout(120_000);

// 6 requests a minute in chunks of 100: one chunk every ~17 minutes on the default queue.
const stack = useApiStack({
  LLMBATCH_RPM: '6',
  LLMBATCH_CHUNK_SIZE: '100',
  LLMBATCH_NATIVE_POLL_INITIAL_MS: '200',
  LLMBATCH_NATIVE_POLL_MAX_MS: '500',
});

const post = (path: string, body: unknown) =>
  fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const progress = async (id: string) =>
  (await (await fetch(`${stack.base}/batches/${id}`)).json()) as { status: string; succeeded: number; mode: string };

async function create(n: number, mode: 'native' | 'realtime'): Promise<string> {
  const res = await post('/batches', { requests: chatLines(n), options: { mode } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The task queues a workflow scheduled its activities on. */
async function activityQueues(workflowId: string): Promise<Set<string>> {
  const events = (await stack.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return new Set(
    events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.taskQueue?.name ?? ''] : [],
    ),
  );
}

it('a native batch completes under a default-queue limit that holds a realtime batch back', async () => {
  const realtime = await create(250, 'realtime'); // three chunks: the first may start at once, the rest wait
  const native = await create(150, 'native');

  let p = await progress(native);
  for (let i = 0; i < 300 && p.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    p = await progress(native);
  }
  expect(p).toMatchObject({ status: 'completed', succeeded: 150, mode: 'native' });
  // The realtime batch, meanwhile, is still held back by the limit: it cannot have run its third chunk.
  expect((await progress(realtime)).status).toBe('running');
  expect((await progress(realtime)).succeeded).toBeLessThanOrEqual(200);

  const queue = nativeTaskQueue(stack.config.temporal.taskQueue);
  expect(await activityQueues(`batch-${native}`)).toEqual(new Set([queue]));
  expect(await activityQueues(`batch-${native}-pb-0`)).toEqual(new Set([queue]));
  expect((await post(`/batches/${realtime}/cancel`, {})).status).toBe(202);
});
