/** `npm start`: the whole stack in one command; Ctrl-C stops every process it started. */
import { loadConfigOrExit } from '../config';
import { startStack } from './stack';

async function main(): Promise<void> {
  // Local mode (no API keys, loopback only) unless keys are asked for; the API process inherits it.
  process.env.LLMBATCH_AUTH ??= 'local';
  const config = loadConfigOrExit();
  const stack = await startStack(config, { echo: ['worker', 'api'], log: (m) => console.log(`llmbatch: ${m}`) });
  const { urls } = stack;
  console.log(
    [
      '',
      'llmbatch is running:',
      `  API       ${urls.api}`,
      `  Web UI    ${urls.webUi}  (Temporal)`,
      `  Temporal  ${urls.temporal}`,
      `  Provider  ${urls.provider}${urls.simulated ? '  (SIMULATED provider, not a real LLM)' : ''}`,
      `  Logs      ${stack.logDir}`,
      config.auth.mode === 'local'
        ? '  Auth      local mode: no API keys, loopback only (set LLMBATCH_AUTH=keys and LLMBATCH_TENANTS to require keys)'
        : `  Auth      API keys of ${config.auth.tenants.length} tenant(s)`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('llmbatch: stopping…');
    void stack.stop().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);
  // A child dying on its own takes the stack down rather than leaving it half-alive.
  for (const child of stack.children) {
    void child.exitPromise.then(() => {
      if (stopping) return;
      console.error(`llmbatch: ${child.spec.name} exited unexpectedly:\n${child.tail()}`);
      shutdown();
    });
  }
}

main().catch((err: unknown) => {
  console.error(`llmbatch: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
