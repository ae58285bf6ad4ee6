/**
 * The workflow bundle when tsx runs the source (development, `npm start`, the demo, the tests, the bench): webpack
 * would make it again at every worker start, seconds of CPU each time, and the test suite starts dozens of workers.
 * A bundle depends only on `src/workflows`, `src/shared` (all a workflow may import: lint holds it to that) and the
 * installed packages, so it is kept under `node_modules/.cache/llmbatch`, named by a digest of those files, and
 * made again when any of them changes. From dist/ the worker loads the build's bundle instead (bundleWorkflows.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';

const SRC = join(__dirname, '..');
const ROOT = join(SRC, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'llmbatch');
/** What the bundle is made of besides the packages (package-lock.json). */
const INPUTS = ['workflows', 'shared'];
/** Bundles kept: the newest, for checkouts of other commits side by side; older ones are removed. */
const KEPT = 8;

/** A digest of every file the bundle is made from. */
export async function workflowSourceDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of INPUTS) {
    const files = (await readdir(join(SRC, dir), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort();
    for (const file of files) hash.update(`${file.slice(SRC.length)}\0`).update(await readFile(file));
  }
  hash.update(await readFile(join(ROOT, 'package-lock.json')).catch(() => Buffer.alloc(0)));
  return hash.digest('hex').slice(0, 20);
}

/** The path of the bundle of the workflows as they are now: made (once, by whichever process comes first) if new. */
export async function cachedWorkflowBundle(logger?: Logger): Promise<string> {
  const path = join(CACHE, `workflow-bundle-${await workflowSourceDigest()}.js`);
  if (existsSync(path)) return path;
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger });
  await mkdir(CACHE, { recursive: true });
  // Written whole, then renamed: a worker starting meanwhile never reads half a bundle.
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, code);
  await rename(partial, path);
  await removeOldBundles();
  return path;
}

async function removeOldBundles(): Promise<void> {
  const names = (await readdir(CACHE)).filter((n) => /^workflow-bundle-\w+\.js$/.test(n));
  const dated = await Promise.all(names.map(async (n) => ({ n, at: (await stat(join(CACHE, n))).mtimeMs })));
  const old = dated.sort((a, b) => b.at - a.at).slice(KEPT);
  // Another process may remove the same file at the same moment.
  await Promise.all(old.map(({ n }) => unlink(join(CACHE, n)).catch(() => undefined)));
}
