/** `npm start`: the whole stack in one command; Ctrl-C stops every process it started. */
import { loadConfigOrExit, type Config } from '../config';
import { startStack, stopOnSignals, type Stack } from './stack';

const say = (m: string): void => console.log(`llmbatch: ${m}`);

/** Prometheus' customary port for an exporter; LLMBATCH_WORKER_METRICS_PORT overrides it. */
const DEFAULT_WORKER_METRICS_PORT = 9464;

const LOCAL_AUTH =
  '  Auth      local mode: no API keys, loopback only' +
  ' (set LLMBATCH_AUTH=keys and LLMBATCH_TENANTS to require keys)';

function banner(config: Config, stack: Stack): string {
  const { urls } = stack;
  return [
    '',
    'llmbatch is running:',
    `  API       ${urls.api}`,
    `  Console   ${urls.console}  (web console: submit, watch, inspect failures, act)`,
    `  Web UI    ${urls.webUi}  (Temporal)`,
    `  Temporal  ${urls.temporal}`,
    `  Provider  ${urls.provider}${urls.simulated ? '  (SIMULATED provider, not a real LLM)' : ''}`,
    ...(urls.workerMetrics ? [`  Metrics   ${urls.workerMetrics}  (worker: items, provider calls, 429s, cost)`] : []),
    `  Logs      ${stack.logDir}`,
    config.auth.mode === 'local' ? LOCAL_AUTH : `  Auth      API keys of ${config.auth.tenants.length} tenant(s)`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  // Local mode (no API keys, loopback only) unless keys are asked for; the API process inherits it.
  process.env.LLMBATCH_AUTH ??= 'local';
  // The worker serves its metrics (docs/metrics.md) unless told otherwise: an empty value turns them off.
  process.env.LLMBATCH_WORKER_METRICS_PORT ??= String(DEFAULT_WORKER_METRICS_PORT);
  // A completed batch with dead letters waits an hour for the Web UI's retryDeadLetters signal.
  process.env.LLMBATCH_RETRY_GRACE ??= '1h';
  const config = loadConfigOrExit();
  const stack = await startStack(config, { echo: ['worker', 'api'], log: say });
  console.log(banner(config, stack));
  const stopper = stopOnSignals(stack, say, 0);
  // A child dying on its own takes the stack down rather than leaving it half-alive.
  for (const child of stack.children) {
    void child.exitPromise.then(() => {
      if (stopper.stopping) return;
      console.error(`llmbatch: ${child.spec.name} exited unexpectedly:\n${child.tail()}`);
      stopper.shutdown();
    });
  }
}

main().catch((err: unknown) => {
  console.error(`llmbatch: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
