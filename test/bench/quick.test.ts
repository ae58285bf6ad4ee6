/**
 * `npm run bench -- --quick`, as a user runs it: every bench scenario, tiny, must complete with
 * correct results (the bench checks every custom_id once and the simulator's counts), on the file
 * store and on PostgreSQL (a database the bench creates and drops on the server the other PostgreSQL tests
 * use: 127.0.0.1:5432, or PGTEST_URL; BENCH_PG_URL wins if set). It asserts
 * nothing about speed, so it runs on any machine; what it catches is a bench that no longer runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const DOCS = join(ROOT, 'docs', 'benchmarks.md');

function quickBench(): Promise<{ code: number | null; output: string }> {
  // The bench clears LLMBATCH_*, OPENAI_*, SIM_* and DATABASE_URL itself; BENCH_* would change its sizes (BENCH_PG_URL
  // only says where PostgreSQL is).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => (!k.startsWith('BENCH_') || k === 'BENCH_PG_URL') && k !== 'NODE_OPTIONS',
    ),
  );
  if (env.BENCH_PG_URL === undefined && process.env.PGTEST_URL !== undefined) env.BENCH_PG_URL = process.env.PGTEST_URL;
  const child = spawn('npm', ['run', 'bench', '--', '--quick'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((ok) => child.once('exit', (code) => ok({ code, output })));
}

describe('npm run bench -- --quick', () => {
  it('runs every scenario to correct results and leaves docs/benchmarks.md alone', async () => {
    const docsBefore = readFileSync(DOCS, 'utf8');
    const { code, output } = await quickBench();
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    // Scenarios 1, 2, 3, 5 and 6 on both data planes: the file store and a fresh PostgreSQL database.
    for (const n of [1, 2, 3, 5, 6]) {
      for (const store of ['files', 'postgres'])
        expect(output).toMatch(new RegExp(`^bench: ok scenario ${n}: ${store}: `, 'm'));
    }
    // Rate-limited: the paced client in both windows, and llmbatch in four cases (both windows, both limit sources).
    const rateLimited = output.match(/^bench: ok scenario 4: .*$/gm) ?? [];
    expect(rateLimited).toHaveLength(6);
    for (const kind of [
      'paced client, empty',
      'paced client, busy',
      'limit configured, 1 worker',
      'limit learned, 3 workers',
    ]) {
      expect(rateLimited.some((l) => l.includes(kind))).toBe(true);
    }
    // Metrics and logs on and off: both stacks ran, and the "on" ones answered their scrapes.
    expect(output).toMatch(/^bench: ok scenario 7: files: /m);
    // Structured outputs checked and unchecked, then repaired.
    expect(output).toMatch(/^bench: ok scenario 8: files: /m);
    expect(readFileSync(DOCS, 'utf8')).toBe(docsBefore);
    const report = /^bench: wrote (\S+)$/m.exec(output)?.[1];
    expect(report).toBeDefined();
    expect(resolve(report as string)).not.toBe(DOCS);
    rmSync(dirname(report as string), { recursive: true, force: true });
  }, 300_000);
});
