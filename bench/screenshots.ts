/**
 * `npm run screenshots`: refreshes the Web UI pictures of docs/runbook.md from a live stack (bench/opsScene.ts)
 * in headless Chromium: docs/webUi-running.png, the workflow list filtered by LlmbatchStatus="running", and
 * docs/webUi-retry-signal.png, the Send a Signal dialog with retryDeadLetters picked; and the web console's pictures in
 * the README (bench/consoleUi.ts): docs/console-list.png, console-batch.png and console-failures.png. The test
 * (test/operations/runbook.test.ts) checks the same pages without writing here, so a test run leaves the tree
 * clean; this refuses to save a list that does not show what the runbook says it shows.
 */
import { join, resolve } from 'node:path';
import { batchWorkflowId } from '../src/shared/contracts';
import { consoleScreenshots } from './consoleUi';
import { startScene } from './opsScene';
import { chromiumPath, launchBrowser, signalDialog, workflowList } from './webUi';

const DOCS = resolve(__dirname, '..', 'docs');
const say = (m: string): void => console.log(`screenshots: ${m}`);

async function main(): Promise<void> {
  const executable = chromiumPath();
  if (!executable) throw new Error('no Chromium: set CHROMIUM_PATH, or install chromium');
  const scene = await startScene(say);
  try {
    const browser = await launchBrowser(executable);
    try {
      const ui = { webUi: scene.webUi, namespace: scene.namespace };
      const running = join(DOCS, 'webUi-running.png');
      const listed = await workflowList(browser, { ...ui, query: 'LlmbatchStatus="running"', screenshot: running });
      const { running: r, toCancel, otherTenant, completed } = scene.batches;
      const want = [r, toCancel, otherTenant].map(batchWorkflowId);
      if (!want.every((id) => listed.includes(id)) || listed.includes(batchWorkflowId(completed)))
        throw new Error(
          `the list shows ${listed.join(', ')}; expected the running ${want.join(', ')} and not the completed one`,
        );
      say(`wrote ${running}`);
      const dialog = join(DOCS, 'webUi-retry-signal.png');
      const workflowId = batchWorkflowId(scene.batches.deadLetters);
      await signalDialog(browser, { ...ui, workflowId, signal: 'retryDeadLetters', screenshot: dialog });
      say(`wrote ${dialog}`);
      const { running: inProgress, deadLetters } = scene.batches;
      const shots = { api: scene.api, key: scene.keys.acme, running: inProgress, deadLetters, dir: DOCS };
      for (const path of await consoleScreenshots(browser, shots)) say(`wrote ${path}`);
    } finally {
      await browser.close();
    }
  } finally {
    await scene.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`screenshots: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
