/**
 * The Temporal Web UI driven by headless Chromium (playwright-core, the system's browser: nothing is
 * downloaded): the workflow list filtered by a visibility query, and the "Send a Signal" dialog of one
 * workflow. The runbook's test checks what they show; `npm run screenshots` keeps their pictures in docs/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** CHROMIUM_PATH, else `chromium` (or `chromium-browser`) on PATH; undefined when there is none. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not on PATH: try the next name
    }
  }
  return undefined;
}

/** The viewport of every picture: small PNGs, and wide enough for the list's id and type columns. */
export const VIEWPORT = { width: 1280, height: 720 };
const LOAD_TIMEOUT_MS = 20_000;

export async function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true });
}

/** The Web UI's workflow list filtered by `query` (the same SQL-like filter `temporal workflow list` takes). */
export function workflowListUrl(webUi: string, namespace: string, query: string): string {
  return `${webUi}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

async function newPage(browser: Browser): Promise<Page> {
  return browser.newPage({ viewport: VIEWPORT });
}

/**
 * Opens the filtered list, waits until its table shows rows, and returns the workflow ids in it (each row
 * links to its workflow: `/namespaces/<ns>/workflows/<id>/<run>/...`). With `screenshot`, saves the page there.
 */
export async function workflowList(
  browser: Browser,
  opts: { webUi: string; namespace: string; query: string; screenshot?: string },
): Promise<string[]> {
  const page = await newPage(browser);
  try {
    await page.goto(workflowListUrl(opts.webUi, opts.namespace, opts.query), { waitUntil: 'domcontentloaded' });
    const rows = page.locator('table a[href*="/workflows/"]');
    await rows.first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    const hrefs = await rows.evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    const prefix = `/namespaces/${encodeURIComponent(opts.namespace)}/workflows/`;
    const ids = hrefs
      .filter((h) => h.startsWith(prefix))
      .map((h) => decodeURIComponent(h.slice(prefix.length).split('/')[0] ?? ''));
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot });
    return [...new Set(ids)];
  } finally {
    await page.close();
  }
}

/**
 * The retry click path on one workflow's page: More Actions → Send a Signal → the signal picked from the
 * list the Web UI reads from the workflow's own definitions. Saves the dialog to `screenshot`, then with
 * `submit` clicks Submit (and waits for the dialog to close). Returns the signal names the dialog offered.
 */
export async function signalDialog(
  browser: Browser,
  opts: { webUi: string; namespace: string; workflowId: string; signal: string; screenshot?: string; submit?: boolean },
): Promise<string[]> {
  const page = await newPage(browser);
  try {
    const namespace = encodeURIComponent(opts.namespace);
    const url = `${opts.webUi}/namespaces/${namespace}/workflows/${encodeURIComponent(opts.workflowId)}`;
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.getByRole('button', { name: 'More Actions' }).first().click({ timeout: LOAD_TIMEOUT_MS });
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
    await dialog.getByTestId('signal-select-button').click();
    const options = dialog.getByRole('option');
    await options.first().waitFor({ timeout: LOAD_TIMEOUT_MS });
    const offered = (await options.allInnerTexts()).map((t) => t.split('\n')[0]?.trim() ?? '');
    await options.filter({ hasText: opts.signal }).first().click();
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot });
    if (opts.submit) {
      await dialog.getByRole('button', { name: 'Submit' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: LOAD_TIMEOUT_MS });
    }
    return offered;
  } finally {
    await page.close();
  }
}
