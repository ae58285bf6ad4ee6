/**
 * The web console (GET /console) photographed for the README by `npm run screenshots`: the batches list, a running
 * batch's page and a batch's failures table, from the ops scene (bench/opsScene.ts) as tenant acme sees them.
 * test/console/console.test.ts drives the same pages and checks what they do; this only takes their pictures.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';

const LOAD_TIMEOUT_MS = 20_000;
/** Tall enough for a batch page's progress, links and actions at the README's width. */
const CONSOLE_VIEWPORT = { width: 1280, height: 900 };

export interface ConsoleShots {
  api: string;
  key: string;
  /** A batch still running (its progress moves) and one with dead letters (its failures table). */
  running: string;
  deadLetters: string;
  dir: string;
}

async function signedIn(browser: Browser, api: string, key: string): Promise<Page> {
  const page = await browser.newPage({ viewport: CONSOLE_VIEWPORT });
  await page.goto(`${api}/console`, { waitUntil: 'domcontentloaded' });
  await page.getByLabel('API key').fill(key, { timeout: LOAD_TIMEOUT_MS });
  await page.getByRole('button', { name: 'Use key' }).click();
  return page;
}

/** Writes console-list.png, console-batch.png and console-failures.png into `dir`; returns their paths. */
export async function consoleScreenshots(browser: Browser, shots: ConsoleShots): Promise<string[]> {
  const page = await signedIn(browser, shots.api, shots.key);
  try {
    const list = join(shots.dir, 'console-list.png');
    await page.locator('table.batches tbody tr').first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.screenshot({ path: list });

    const batch = join(shots.dir, 'console-batch.png');
    await page.goto(`${shots.api}/console#/batches/${encodeURIComponent(shots.running)}`);
    await page.locator('dd[data-field="succeeded"]', { hasText: /^[1-9]/ }).waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.screenshot({ path: batch });

    const failures = join(shots.dir, 'console-failures.png');
    await page.goto(`${shots.api}/console#/batches/${encodeURIComponent(shots.deadLetters)}`);
    await page.getByRole('button', { name: /Show failures/ }).click({ timeout: LOAD_TIMEOUT_MS });
    await page.getByRole('table', { name: 'Failures by error code' }).waitFor({ timeout: LOAD_TIMEOUT_MS });
    await page.locator('section[aria-labelledby="failures-title"]').screenshot({ path: failures });
    return [list, batch, failures];
  } finally {
    await page.close();
  }
}
