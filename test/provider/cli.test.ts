import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { envOf, flagOf, parseCli } from '../../src/provider/cliOptions';

const root = join(__dirname, '..', '..');
const tsxBin = join(root, 'node_modules', '.bin', 'tsx');

/** Runs the CLI as a user would (tsx), collecting its output. */
function runCli(args: string[], env: Record<string, string> = {}, onStdout?: (text: string, kill: () => void) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(tsxBin, ['src/provider/providerMain.ts', ...args], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        onStdout?.(stdout, () => child.kill('SIGTERM'));
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
}

describe('provider CLI (spawned)', () => {
  it('exits non-zero naming the flag for a bad value', async () => {
    const result = await runCli(['--rpm', '-3']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--rpm/);
    expect(result.stderr).toMatch(/>=\s*0/);
  });

  it('names the env var when the bad value came from the environment', async () => {
    const result = await runCli([], { SIM_ERROR_RATE: 'lots' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/SIM_ERROR_RATE/);
  });

  it('prints the banner, serves, and exits 0 on SIGTERM', async () => {
    let url: string | undefined;
    let health: number | undefined;
    const result = await runCli(['--port', '0', '--seed', '3'], {}, (text, kill) => {
      const match = /listening on (http:\/\/\S+\/v1)/.exec(text);
      if (match === null || url !== undefined) return;
      url = match[1];
      void fetch(`${url!.replace(/\/v1$/, '')}/healthz`)
        .then((response) => (health = response.status))
        .finally(kill);
    });
    expect(result.stdout).toMatch(
      /^llmbatch simulated OpenAI provider \(NOT a real LLM\) listening on http:\/\/127\.0\.0\.1:\d+\/v1$/m,
    );
    expect(health).toBe(200);
    expect(result.code).toBe(0);
  });
});

describe('parseCli (in-process)', () => {
  it('derives flag and env names from option names', () => {
    expect(flagOf('latencyP99Ms')).toBe('--latency-p99-ms');
    expect(envOf('latencyP99Ms')).toBe('SIM_LATENCY_P99_MS');
    expect(flagOf('batchLinesPerSecond')).toBe('--batch-lines-per-second');
    expect(envOf('apiKey')).toBe('SIM_API_KEY');
  });

  it('defaults the port to 8787, reads env vars, and lets flags win', () => {
    const defaults = parseCli([], {});
    expect(defaults).toMatchObject({ kind: 'run', options: { port: 8787 } });
    const mixed = parseCli(['--rpm', '10', '--api-key=sk-x'], { SIM_RPM: '99', SIM_TPM: '5000', SIM_HOST: '0.0.0.0' });
    expect(mixed).toMatchObject({ kind: 'run', options: { rpm: 10, tpm: 5000, host: '0.0.0.0', apiKey: 'sk-x' } });
  });

  it('reads the rate-limit shape and background traffic from flags and SIM_* env vars', () => {
    const parsed = parseCli(['--rpm', '3000', '--background-rpm', '1500', '--rate-burst-seconds', '2'], {
      SIM_TPM: '90000',
      SIM_BACKGROUND_TPM: '30000',
    });
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { rpm: 3000, backgroundRpm: 1500, rateBurstSeconds: 2, tpm: 90000, backgroundTpm: 30000 },
    });
    expect(parseCli([], {})).toMatchObject({
      kind: 'run',
      options: { rateBurstSeconds: 1, backgroundRpm: 0, backgroundTpm: 0 },
    });
    expect(parseCli(['--rate-burst-seconds', '0'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--rate-burst-seconds/),
    });
    expect(parseCli(['--rate-burst-seconds', '61'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--rate-burst-seconds/),
    });
    expect(parseCli(['--help'], {})).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('SIM_BACKGROUND_RPM'),
    });
  });

  it('reports unknown flags, non-numbers and out-of-range values', () => {
    expect(parseCli(['--nope'], {})).toMatchObject({ kind: 'error', message: expect.stringMatching(/--nope/) });
    expect(parseCli(['--port', 'abc'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--port.*not a number/),
    });
    expect(parseCli(['--hang-rate', '1.5'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--hang-rate/),
    });
    expect(parseCli(['--latency-median-ms', '50', '--latency-p99-ms', '10'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--latency-p99-ms/),
    });
    expect(parseCli(['--help'], {})).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('SIM_BATCH_LINES_PER_SECOND'),
    });
  });
});
