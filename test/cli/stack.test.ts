/**
 * The real entry points as a user runs them: `npm start` then Ctrl-C, and `npm run demo`.
 * Each run gets free ports and its own data dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { alive, descendants, stackEnv, waitFor } from './processTree';

const ROOT = resolve(__dirname, '..', '..');

function run(
  file: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { child, output: () => out, exit };
}

describe('npm start', () => {
  it('starts every process, prints the URLs, and leaves no child process after Ctrl-C', async () => {
    const env = await stackEnv();
    const start = run('src/cli/start.ts', env);
    const up = await waitFor(() => start.output().includes('Press Ctrl-C to stop.'), 150_000);
    expect({ up, output: up ? '' : start.output() }).toEqual({ up: true, output: '' });
    expect(start.output()).toContain(`API       http://127.0.0.1:${env.API_PORT}`);
    expect(start.output()).toContain(`Web UI    http://127.0.0.1:${env.TEMPORAL_UI_PORT}`);
    const consoleUrl = `http://127.0.0.1:${env.API_PORT}/console`;
    expect(start.output()).toContain(`Console   ${consoleUrl}`);
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>llmbatch console</title>');
    const settings = await (await fetch(`${consoleUrl}/config.json`)).json();
    expect(settings).toEqual({
      auth: 'local',
      temporalUiUrl: `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`,
      namespace: 'default',
    });
    expect(start.output()).toContain('SIMULATED provider');
    const metricsUrl = `http://127.0.0.1:${env.LLMBATCH_WORKER_METRICS_PORT}/metrics`;
    expect(start.output()).toContain(`Metrics   ${metricsUrl}`);
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/^# TYPE llmbatch_items_total counter$/m);
    expect(metrics).toMatch(/^temporal_\w+\{/m); // the SDK's worker metrics, through the same endpoint

    const children = descendants(start.child.pid as number);
    expect(children.length).toBeGreaterThanOrEqual(4); // temporal, provider, worker, api

    start.child.kill('SIGINT');
    expect(await start.exit).toBe(0);
    expect(await waitFor(() => children.every((pid) => !alive(pid)), 10_000)).toBe(true);
  }, 240_000);

  it('stops with a message naming the variable when configuration is bad', async () => {
    const bad = run('src/cli/start.ts', { ...process.env, API_PORT: 'eighty' });
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toContain('API_PORT');
  });
});

describe('npm run demo', () => {
  it('runs the example batch on the simulator, writes every result once, and exits 0', async () => {
    const env = await stackEnv();
    const demo = run('src/cli/demo.ts', env);
    const code = await demo.exit;
    expect({ code, output: code === 0 ? '' : demo.output() }).toEqual({ code: 0, output: '' });
    expect(demo.output()).toContain('SIMULATED');
    const file = /results: 1000 lines written to (\S+)/.exec(demo.output())?.[1];
    expect(file && existsSync(file)).toBeTruthy();
    const ids = readFileSync(file as string, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
    expect(new Set(ids).size).toBe(1000);
  }, 240_000);
});
