/**
 * Start later through the project API: options.notBefore (or `not_before` for NDJSON) answers 201 `scheduled`;
 * GET shows it scheduled with its time, the listing filters by it, and it completes once its time has come. A
 * bad time is a 400 naming the option; a scheduled batch can be cancelled before it starts.
 */
import { batchWorkflowId, type BatchLine } from '../../src/shared/contracts';
import { SearchAttributeKeys } from '../../src/shared/searchAttributes';
import type { BatchListView, BatchView, CreatedBatchView } from '../../src/shared/views';
import { WINDOW_MODE_REASON } from '../../src/api/plan';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';

const stack = useApiStack();

const post = (body: unknown) =>
  fetch(`${stack.base}/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = async <T>(path: string): Promise<T> => (await (await fetch(`${stack.base}${path}`)).json()) as T;
const inMs = (ms: number): string => new Date(Date.now() + ms).toISOString();

async function until(id: string, done: (v: BatchView) => boolean, timeoutMs = 30_000): Promise<BatchView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get<BatchView>(`/batches/${id}`);
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('options.notBefore', () => {
  it('answers 201 scheduled, shows and lists it as scheduled, then completes after its time', async () => {
    const notBefore = inMs(4_000);
    const res = await post({ requests: chatLines(20, 'nb'), options: { notBefore } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as CreatedBatchView;
    expect(created.status).toBe('scheduled');

    const view = await get<BatchView>(`/batches/${created.id}`);
    expect(view).toMatchObject({ status: 'scheduled', notBefore, succeeded: 0 });
    const scheduled = await get<BatchListView>('/batches?status=scheduled');
    expect(scheduled.data.map((b) => b.id)).toContain(created.id);
    const running = await get<BatchListView>('/batches?status=running');
    expect(running.data.map((b) => b.id)).not.toContain(created.id);
    // The Web UI and `temporal workflow list --query "LlmbatchStatus='scheduled'"` see it too.
    const described = await stack.env.client.workflow.getHandle(batchWorkflowId(created.id)).describe();
    expect(described.typedSearchAttributes.get(SearchAttributeKeys.status)).toBe('scheduled');

    const done = await until(created.id, (v) => v.status === 'completed');
    expect(done).toMatchObject({ status: 'completed', succeeded: 20, notBefore });
    expect(Date.parse(done.startedAt)).toBeGreaterThanOrEqual(Date.parse(notBefore));
  }, 60_000);

  it('NDJSON takes it as `not_before`; a scheduled batch cancelled before its time ends with nothing run', async () => {
    const lines: BatchLine[] = chatLines(5, 'nd');
    const res = await fetch(`${stack.base}/batches?not_before=${encodeURIComponent(inMs(3_600_000))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    });
    expect(res.status).toBe(201);
    const { id, status } = (await res.json()) as CreatedBatchView;
    expect(status).toBe('scheduled');
    expect((await fetch(`${stack.base}/batches/${id}/cancel`, { method: 'POST' })).status).toBe(202);
    const ended = await until(id, (v) => v.status === 'cancelled');
    expect(ended).toMatchObject({ status: 'cancelled', succeeded: 0, failed: 0 });
  }, 60_000);

  it('a time in the past starts at once', async () => {
    const res = await post({ requests: chatLines(3, 'past'), options: { notBefore: inMs(-60_000) } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as CreatedBatchView;
    expect(created.status).toBe('running');
    expect((await until(created.id, (v) => v.status === 'completed')).succeeded).toBe(3);
  }, 60_000);

  it.each([
    ['not a time', 'tomorrow'],
    ['no offset', '2030-01-01T00:00:00'],
    ['more than 30 days ahead', inMs(31 * 86_400_000)],
    ['after the deadline', inMs(7_200_000)],
  ])('refuses %s with a 400 naming options.notBefore', async (_what, notBefore) => {
    const options = { notBefore, ...(_what === 'after the deadline' ? { deadline: inMs(3_600_000) } : {}) };
    const res = await post({ requests: chatLines(2, 'bad'), options });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('options.notBefore');
  });
});

describe('options.window', () => {
  /** HH:MM in UTC, `hours` from now. */
  const hhmm = (hours: number): string => new Date(Date.now() + hours * 3_600_000).toISOString().slice(11, 16);

  it('open now: runs and shows the window open until its end', async () => {
    const window = { start: hhmm(-1), end: hhmm(1), timezone: 'UTC' };
    const res = await post({ requests: chatLines(10, 'open'), options: { window } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as CreatedBatchView;
    const done = await until(id, (v) => v.status === 'completed');
    expect(done).toMatchObject({ succeeded: 10, window: { ...window, open: true } });
  }, 60_000);

  it('closed now: paused for `window` with the next opening shown; a resume runs it anyway', async () => {
    const window = { start: hhmm(2), end: hhmm(3), timezone: 'UTC' };
    const res = await post({ requests: chatLines(10, 'closed'), options: { window } });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as CreatedBatchView;
    const paused = await until(id, (v) => v.status === 'paused');
    expect(paused).toMatchObject({ status: 'paused', pauseReason: 'window', succeeded: 0 });
    expect(paused.window).toMatchObject({ ...window, open: false });
    expect(paused.window?.opensAt.slice(11, 16)).toBe(window.start);
    expect(Date.parse(paused.window?.opensAt ?? '')).toBeGreaterThan(Date.now());
    expect((await fetch(`${stack.base}/batches/${id}/resume`, { method: 'POST' })).status).toBe(202);
    expect(await until(id, (v) => v.status === 'completed')).toMatchObject({ succeeded: 10 });
  }, 60_000);

  it('auto runs it in realtime and says why; native is refused naming options.window', async () => {
    const window = { start: '01:00', end: '06:00', timezone: 'Europe/Berlin' };
    const auto = await post({ requests: chatLines(2, 'auto'), options: { window, mode: 'auto' } });
    expect(auto.status).toBe(201);
    const { id } = (await auto.json()) as CreatedBatchView;
    expect(await get<BatchView>(`/batches/${id}`)).toMatchObject({ mode: 'realtime', modeReason: WINDOW_MODE_REASON });
    await fetch(`${stack.base}/batches/${id}/cancel`, { method: 'POST' });
    const native = await post({ requests: chatLines(2, 'native'), options: { window, mode: 'native' } });
    expect(native.status).toBe(400);
    expect(JSON.stringify(await native.json())).toContain('options.window: a run window applies to realtime mode');
  }, 60_000);

  it('NDJSON takes it as `window` (JSON text); a bad one is a 400 naming the field', async () => {
    const ndjson = (query: string) =>
      fetch(`${stack.base}/batches?window=${encodeURIComponent(query)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body:
          chatLines(3, 'ndw')
            .map((l) => JSON.stringify(l))
            .join('\n') + '\n',
      });
    const window = { start: hhmm(2), end: hhmm(3), timezone: 'UTC' };
    const res = await ndjson(JSON.stringify(window));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as CreatedBatchView;
    expect(await until(id, (v) => v.status === 'paused')).toMatchObject({ pauseReason: 'window', window });
    await fetch(`${stack.base}/batches/${id}/cancel`, { method: 'POST' });
    const bad = await ndjson(JSON.stringify({ ...window, timezone: 'Nowhere' }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('window.timezone');
  }, 60_000);

  it.each([
    ['a bad time', { start: '1am', end: '06:00', timezone: 'UTC' }, 'options.window.start'],
    ['an unknown zone', { start: '01:00', end: '06:00', timezone: 'Europe/Atlantis' }, 'options.window.timezone'],
    ['an empty window', { start: '01:00', end: '01:00', timezone: 'UTC' }, 'options.window.end'],
  ])('refuses %s with a 400 naming the field', async (_what, window, field) => {
    const res = await post({ requests: chatLines(2, 'bad'), options: { window } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain(field);
  });
});
