/**
 * The production workflow bundle. `npm run build` compiles src to dist/ and then runs this file from
 * there (`node dist/worker/bundleWorkflows.js`), which bundles dist/workflows into dist/workflow-bundle.js.
 * A worker running from dist/ loads that file instead of bundling with webpack at start-up (Temporal's
 * advice for production: faster start, less memory, and the code that runs is the code that was built).
 * Under tsx (development, `npm start`, the tests) there is no prebuilt bundle and the worker bundles as before.
 */
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createLogger, type Logger } from '../logging/logger';

/** True when this module is compiled JavaScript (dist/), false when tsx runs the TypeScript source. */
export function runsCompiled(): boolean {
  return extname(__filename) === '.js';
}

/** Where the build writes the bundle: beside the compiled folders, e.g. dist/workflow-bundle.js. */
export function prebuiltBundlePath(): string {
  return join(__dirname, '..', 'workflow-bundle.js');
}

async function main(logger: Logger): Promise<void> {
  if (!runsCompiled()) {
    throw new Error('bundleWorkflows runs from the compiled output: use `npm run build`');
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  await writeFile(prebuiltBundlePath(), code);
  logger.info(`workflow bundle: ${prebuiltBundlePath()} (${Math.round(code.length / 1024)} KiB)`);
}

if (require.main === module) {
  const logger = createLogger({ level: 'info', name: 'build' });
  main(logger).catch((err: unknown) => {
    logger.fatal({ err }, 'workflow bundle not written');
    process.exit(1);
  });
}
