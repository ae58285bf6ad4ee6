/**
 * The web console (GET /console) in headless Chromium, as a user drives it, on a real stack: Temporal dev server,
 * a worker process, the API process in keys mode with two tenants, and the simulator failing 10% of calls with
 * latency, so batches have dead letters and take a few seconds. Through the page only: a 300-line upload with one
 * attempt per item completes; its failures are grouped by code, its first results previewed and its failures
 * downloaded; its dead letters are retried as a new batch linked both ways; a bad file dropped on the page shows its
 * line and creates nothing; a running batch gets a new priority and concurrency, is paused, refused a retry (the
 * API's 409 message shows), resumed and cancelled; a /v1 batch's output file downloads; a pipeline's repairs and
 * step counts show; the status filter and pages of 5 through next_cursor; each tenant's key shows only its batches;
 * the page fits a phone's width; and the browser logs no error but the HTTP refusals the test provokes.
 *
 * No Chromium: skipped with a message on a developer's machine, a failure in CI (CI=true), where .ci/run installs it.
 */
import { readFileSync } from 'node:fs';
import OpenAI, { toFile } from 'openai';
import type { Browser, Page } from 'playwright-core';
import { chromiumPath, launchBrowser } from '../../bench/webUi';
import { INVALID_OUTPUT_MARKER } from '../../src/provider';
import { newApiKey } from '../../src/shared/apiKeys';
import type { BatchListView, BatchView } from '../../src/shared/views';
import { chatLines, Harness } from '../durability/harness';

const A = newApiKey();
const B = newApiKey();
const TENANTS = [
  { id: 'console-a', keys: [A.digest] },
  { id: 'console-b', keys: [B.digest] },
];
const browserPath = chromiumPath();
if (!browserPath && process.env.CI === 'true')
  throw new Error('the console test needs Chromium in CI (.ci/run installs Debian chromium; or set CHROMIUM_PATH)');
if (!browserPath) console.warn('console test SKIPPED: no Chromium (set CHROMIUM_PATH, or install chromium)');
const describeWithBrowser = browserPath ? describe : describe.skip;

/** The browser's reports of the refusals this test asks for (a bad file, a 409, another tenant's batch). */
const PROVOKED = /^Failed to load resource: the server responded with a status of (400|404|409) /;
const LOAD_MS = 15_000;
/** A pipeline item whose structured answer the simulator never gets right. */
const BAD_ITEM = { custom_id: 'pipe-bad', topic: `never valid ${INVALID_OUTPUT_MARKER}` };

const jsonl = (lines: unknown[]): Buffer => Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

let h: Harness;
let api: string;
let browser: Browser;
let page: Page;
const browserErrors: string[] = [];
let passed = 0;

async function call<T>(key: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${api}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const listIds = async (key: string): Promise<string[]> =>
  (await call<BatchListView>(key, '/batches?limit=100')).data.map((b) => b.id);

async function useKey(key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Use key' }).click();
}

/** Uploads `file` from the Submit page with `attempts` per item; returns the new batch's id from the page's URL. */
async function submit(name: string, file: Buffer, attempts?: number): Promise<string> {
  await page.getByRole('link', { name: 'Submit a batch' }).click();
  await page.setInputFiles('#batch-file', { name, mimeType: 'application/x-ndjson', buffer: file });
  if (attempts) await page.getByLabel('Attempts per item').fill(String(attempts));
  await page.getByRole('button', { name: 'Submit batch' }).click();
  await page.waitForURL(/#\/batches\//, { timeout: LOAD_MS });
  return decodeURIComponent(page.url().split('#/batches/')[1]!);
}

const waitForStatus = (status: string, timeout: number) =>
  page.locator('.status-line .badge', { hasText: status }).waitFor({ timeout });

const field = async (name: string): Promise<number> =>
  Number((await page.locator(`dd[data-field="${name}"]`).textContent())!.replace(/,/g, ''));

/** Titles of the list's batch links: each is the full batch id. */
async function listedIds(): Promise<string[]> {
  await page.locator('table.batches, .notice').first().waitFor({ timeout: LOAD_MS });
  return page.locator('table.batches tbody a').evaluateAll((links) => links.map((a) => a.getAttribute('title') ?? ''));
}

/** The stack, then the browser; the tests' page collects every error the browser logs. */
async function startAll(): Promise<void> {
  h = new Harness({
    name: 'console',
    sim: { errorRate: 0.1, latencyMedianMs: 150, latencyP99Ms: 300, seed: 14 },
    // 16 requests at once: the 300-line batch takes a few seconds and the 1,500-line one long enough to pause.
    workerEnv: { LLMBATCH_WORKER_CONCURRENCY: '16', LLMBATCH_CHUNK_SIZE: '25' },
  });
  await h.start({ workers: 0 });
  const env = {
    LLMBATCH_AUTH: 'keys',
    LLMBATCH_TENANTS: JSON.stringify(TENANTS),
    LLMBATCH_TEMPORAL_UI_URL: `http://127.0.0.1:${h.uiPort}`,
  };
  const [, started] = await Promise.all([h.startWorker(), h.startApi(env)]);
  api = started.base;
  browser = await launchBrowser(browserPath!);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    if (m.type() === 'error' && !PROVOKED.test(m.text())) browserErrors.push(m.text());
  });
  page.on('pageerror', (err) => browserErrors.push(`uncaught: ${err.message}`));
}

describeWithBrowser('the web console', () => {
  beforeAll(startAll, 180_000);
  afterAll(async () => {
    await browser?.close();
    await h?.shutdown(passed < 7);
  }, 60_000);

  it('asks for a key, then lists only that tenant’s batches', async () => {
    await page.goto(`${api}/console`);
    await page.getByText('Enter your API key above').waitFor({ timeout: LOAD_MS });
    await useKey(A.key);
    expect(await listedIds()).toEqual([]);
    passed++;
  });

  it('uploads 300 lines, watches them complete, groups the failures and retries the dead letters', async () => {
    const id = await submit('reviews.jsonl', jsonl(chatLines(300, 'console')), 1);
    await waitForStatus('completed', 60_000);
    const batch = await call<BatchView>(A.key, `/batches/${id}`);
    expect(batch).toMatchObject({ status: 'completed', total: 300, model: 'gpt-4o-mini' });
    expect(batch.failed).toBeGreaterThan(0); // 10% of calls fail and each item has one attempt
    expect({ succeeded: await field('succeeded'), failed: await field('failed') }).toEqual({
      succeeded: batch.succeeded,
      failed: batch.failed,
    });
    const workflowLink = page.getByRole('link', { name: /in the Temporal Web UI/ });
    expect(await workflowLink.getAttribute('href')).toBe(
      `http://127.0.0.1:${h.uiPort}/namespaces/default/workflows/batch-${id}`,
    );

    await page.getByRole('button', { name: /Show failures/ }).click();
    const groups = page.getByRole('table', { name: 'Failures by error code' });
    await groups.waitFor({ timeout: LOAD_MS });
    const counts = await groups
      .locator('tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-code'), Number(r.querySelector('.num')!.textContent!.replace(/,/g, ''))]),
      );
    expect(counts.map(([code]) => code)).toContain('retries_exhausted');
    expect(counts.reduce((sum, [, n]) => sum + (n as number), 0)).toBe(batch.failed);
    const lineRows = page.getByRole('table', { name: /Failed lines, page 1/ }).locator('tbody tr');
    expect(await lineRows.count()).toBe(Math.min(20, batch.failed));

    await page.getByRole('button', { name: /Show the first 50 results/ }).click();
    const preview = (await page.locator('pre.preview').textContent({ timeout: LOAD_MS }))!;
    expect(preview.match(/"custom_id"/g)).toHaveLength(50);
    const [saved] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Failures (.jsonl)' }).click(),
    ]);
    const failedLines = readFileSync(await saved.path(), 'utf8')
      .trim()
      .split('\n');
    expect(failedLines).toHaveLength(batch.failed);

    await page.getByRole('button', { name: /Retry dead letters/ }).click();
    const created = page.getByRole('status').filter({ hasText: 'Retry batch created' });
    await created.waitFor({ timeout: LOAD_MS });
    const retryId = (await created.getByRole('link').textContent())!;
    await page.locator('.links', { hasText: `Dead letters retried by ${retryId}` }).waitFor({ timeout: LOAD_MS });
    await created.getByRole('link').click();
    await page.getByText(`Retries the dead letters of ${id}`).waitFor({ timeout: LOAD_MS });
    expect(await call<BatchView>(A.key, `/batches/${retryId}`)).toMatchObject({ retryOf: id, total: batch.failed });
    expect((await call<BatchView>(A.key, `/batches/${id}`)).retriedBy).toEqual([retryId]);
    passed++;
  }, 90_000);

  it('shows the line and reason of a bad file dropped on the page, and creates nothing', async () => {
    const before = await listIds(A.key);
    const text = jsonl(chatLines(2, 'bad-file')).toString() + '{"custom_id": "broken", \n';
    await page.getByRole('link', { name: 'Submit a batch' }).click();
    // Dropped, as from a file manager: a drop event carrying the file.
    const file = `new File([${JSON.stringify(text)}], 'broken.jsonl')`;
    const dataTransfer = await page.evaluateHandle(
      `(() => { const d = new DataTransfer(); d.items.add(${file}); return d; })()`,
    );
    await page.dispatchEvent('.dropzone', 'drop', { dataTransfer });
    await page.locator('.dropzone', { hasText: 'broken.jsonl' }).waitFor({ timeout: LOAD_MS });
    await page.getByRole('button', { name: 'Submit batch' }).click();
    const refusal = page.locator('#upload-error');
    await refusal.waitFor({ timeout: LOAD_MS });
    expect(await refusal.locator('.bad-line').textContent()).toBe('Line 3');
    expect(await refusal.textContent()).toMatch(/line 3: .*JSON/i);
    expect(page.url()).toMatch(/#\/submit$/);
    expect(await listIds(A.key)).toEqual(before);
    passed++;
  });

  it('sets priority and concurrency, pauses, shows the API refusing a retry, resumes and cancels', async () => {
    const id = await submit('long.jsonl', jsonl(chatLines(1500, 'long')));
    await page.locator('dd[data-field="succeeded"]', { hasText: /^[1-9]/ }).waitFor({ timeout: 30_000 });
    await page.getByLabel('Priority (1 first, 5 last)').selectOption('1');
    await page.getByRole('button', { name: 'Set priority' }).click();
    await page.locator('dd[data-field="priority"]', { hasText: /^1$/ }).waitFor({ timeout: LOAD_MS });
    await page.getByLabel('Chunks at once').fill('2');
    await page.getByRole('button', { name: 'Set concurrency' }).click();
    await page.locator('dd[data-field="concurrency"]', { hasText: 'up to 2 ' }).waitFor({ timeout: LOAD_MS });
    expect(await call<BatchView>(A.key, `/batches/${id}`)).toMatchObject({ priority: 1, maxChunksInFlight: 2 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await waitForStatus('paused', LOAD_MS);
    expect((await call<BatchView>(A.key, `/batches/${id}`)).status).toBe('paused');

    await page.getByRole('button', { name: /Retry dead letters/ }).click();
    const refused = page.locator('#action-error');
    await refused.waitFor({ timeout: LOAD_MS });
    expect(await refused.textContent()).toMatch(/^Retry dead letters refused: .+/);

    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForStatus('running', LOAD_MS);
    const settled = await field('succeeded');
    await page.locator('dd[data-field="succeeded"]', { hasText: /\d/ }).evaluate(
      (dd, from) =>
        new Promise<void>((ok) => {
          const check = () => (Number(dd.textContent!.replace(/,/g, '')) > from ? ok() : setTimeout(check, 200));
          check();
        }),
      settled,
    );
    await page.getByRole('button', { name: 'Cancel…' }).click();
    await page.getByRole('button', { name: 'Yes, cancel the batch' }).click();
    await waitForStatus('cancelled', 30_000);
    expect((await call<BatchView>(A.key, `/batches/${id}`)).status).toBe('cancelled');
    passed++;
  }, 90_000);

  it('offers a /v1 batch’s output file for download', async () => {
    const openai = new OpenAI({ baseURL: `${api}/v1`, apiKey: A.key, maxRetries: 0 });
    const input = await openai.files.create({
      file: await toFile(jsonl(chatLines(20, 'v1')), 'v1.jsonl'),
      purpose: 'batch',
    });
    const created = await openai.batches.create({
      input_file_id: input.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await page.goto(`${api}/console#/batches/${created.id}`);
    await waitForStatus('completed', 60_000);
    const button = page.getByRole('button', { name: '/v1 output file' });
    await button.waitFor({ timeout: LOAD_MS });
    const [saved] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const lines = readFileSync(await saved.path(), 'utf8')
      .trim()
      .split('\n');
    const done = await openai.batches.retrieve(created.id);
    expect(lines).toHaveLength(done.request_counts!.completed);
    expect(await (await openai.files.content(done.output_file_id!)).text()).toBe(lines.join('\n') + '\n');
    passed++;
  }, 90_000);

  it('shows a pipeline’s repairs and per-step counts', async () => {
    const step = (name: string, content: string) => ({
      name,
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] },
    });
    const created = await call<{ id: string }>(A.key, '/pipelines', {
      method: 'POST',
      body: JSON.stringify({
        steps: [
          { ...step('headline', 'A headline on {{item.topic}}'), outputSchema: { type: 'object' }, repairAttempts: 1 },
          step('intro', 'An intro for {{steps.headline.text}}'),
        ],
        items: [...chatLines(4, 'pipe').map((l) => ({ custom_id: l.custom_id, topic: l.custom_id })), BAD_ITEM],
      }),
    });
    await page.goto(`${api}/console#/batches/${created.id}`);
    await waitForStatus('completed', 60_000);
    await page.locator('dd[data-field="step headline"]', { hasText: '4 past · 1 stopped here' }).waitFor();
    expect(await page.locator('dd[data-field="step intro"]').textContent()).toBe('4 past · 0 stopped here');
    expect(await page.locator('dd[data-field="repairs"]').textContent()).toBe('1 sent · 1 still invalid');
    passed++;
  }, 90_000);

  it('shows each tenant only its own batches', async () => {
    const ofA = await listIds(A.key);
    const ofB = await call<{ id: string }>(B.key, '/batches', {
      method: 'POST',
      body: JSON.stringify({ requests: chatLines(3, 'tenant-b') }),
    });
    await page.getByRole('link', { name: 'Batches', exact: true }).click();
    expect((await listedIds()).sort()).toEqual([...ofA].sort());
    const cancelled = (await call<BatchListView>(A.key, '/batches?status=cancelled')).data.map((b) => b.id);
    expect(cancelled).toHaveLength(1);
    await page.getByLabel('Status').selectOption('cancelled');
    await page.waitForFunction(`document.querySelectorAll('table.batches tbody tr').length === 1`);
    expect(await listedIds()).toEqual(cancelled);

    // Pages of 5 through next_cursor: with 7 batches, 5 then 2, newest first, and back.
    for (let i = 0; i < 7 - ofA.length; i++)
      await call(A.key, '/batches', { method: 'POST', body: JSON.stringify({ requests: chatLines(1, `page-${i}`) }) });
    const all = await listIds(A.key);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Per page').selectOption('5');
    await page.waitForFunction(`document.querySelectorAll('table.batches tbody tr').length === 5`);
    expect(await listedIds()).toEqual(all.slice(0, 5));
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.waitForFunction(`document.querySelectorAll('table.batches tbody tr').length === 2`);
    expect(await listedIds()).toEqual(all.slice(5));
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.waitForFunction(`document.querySelectorAll('table.batches tbody tr').length === 5`);

    await useKey(B.key);
    await page.goto(`${api}/console#/`);
    expect(await listedIds()).toEqual([ofB.id]);
    await page.goto(`${api}/console#/batches/${ofA[0]}`);
    await page.getByRole('alert').filter({ hasText: 'not found' }).waitFor({ timeout: LOAD_MS });
    passed++;
  });

  it('fits a phone-width screen, and the browser logged no errors', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of ['#/', `#/batches/${(await listIds(B.key))[0]}`, '#/submit']) {
      await page.goto(`${api}/console${hash}`);
      await page.locator('h1').waitFor({ timeout: LOAD_MS });
      const width = await page.evaluate<number[]>('[document.documentElement.scrollWidth, window.innerWidth]');
      expect({ hash, overflow: width[0]! > width[1]! }).toEqual({ hash, overflow: false });
    }
    expect(browserErrors).toEqual([]);
    passed++;
  });
});
