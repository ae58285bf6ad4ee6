/** Workers under tsx share one workflow bundle per version of the workflows' sources (src/worker/bundleCache.ts). */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { cachedWorkflowBundle, workflowSourceDigest } from '../../src/worker/bundleCache';

describe('the cached workflow bundle', () => {
  it('is named by a digest of the sources, holds every workflow, and is made once', async () => {
    const path = await cachedWorkflowBundle();
    expect(basename(path)).toBe(`workflow-bundle-${await workflowSourceDigest()}.js`);
    const code = readFileSync(path, 'utf8');
    for (const workflow of ['batchWorkflow', 'nativeBatchWorkflow', 'gatherWorkflow', 'webhookWorkflow'])
      expect(code).toContain(workflow);
    const madeAt = statSync(path).mtimeMs;
    expect(await cachedWorkflowBundle()).toBe(path);
    expect(statSync(path).mtimeMs).toBe(madeAt);
  });
});
