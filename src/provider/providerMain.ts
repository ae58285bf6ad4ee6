/**
 * CLI: `npm run provider -- --port 8787 --rpm 600`. Every knob is a flag or a
 * SIM_* env var (see --help); a bad value exits 1 naming the flag or variable.
 */
import { parseCli } from './cliOptions';
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), process.env);
  if (cli.kind === 'help') {
    console.log(cli.text);
    return;
  }
  if (cli.kind === 'error') {
    console.error(`llmbatch provider: ${cli.message}`);
    process.exitCode = 1;
    return;
  }
  const sim = await startSimulator(cli.options);
  console.log(`llmbatch simulated OpenAI provider (NOT a real LLM) listening on ${sim.url}`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('llmbatch provider: error while closing', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`llmbatch provider: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
