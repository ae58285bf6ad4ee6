/**
 * The watchdog on its own, without a stack: a parent process starts children with `ManagedChild`, then
 * dies without stopping them (SIGKILL); the watchdog stops them, with SIGKILL after its grace period for
 * one that ignores SIGTERM. A parent that stops its children and exits leaves no watchdog behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alive, commandLine, descendants, waitFor } from './processTree';

const ROOT = resolve(__dirname, '..', '..');

interface Parent {
  process: ChildProcess;
  /** The pids of its ManagedChild children, as it printed them. */
  children: number[];
  watchdog: number;
}

/** A node process that starts a ManagedChild for each command (run by sh), prints their pids, and waits. */
async function parentOf(commands: string[], then = 'setInterval(() => {}, 1000);'): Promise<Parent> {
  const logDir = mkdtempSync(join(tmpdir(), 'llmbatch-watchdog-'));
  const code = `
    const { ManagedChild } = require('./src/cli/processes.ts');
    const children = ${JSON.stringify(commands)}.map(
      (c, i) => new ManagedChild({ name: 'child' + i, command: 'sh', args: ['-c', c] }, ${JSON.stringify(logDir)}),
    );
    console.log(JSON.stringify(children.map((c) => c.process.pid)));
    ${then}`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const children = await new Promise<number[]>((ok, fail) => {
    parent.stdout?.once('data', (d: Buffer) => ok(JSON.parse(d.toString()) as number[]));
    parent.once('exit', () => fail(new Error('the parent exited before starting its children')));
  });
  let watchdog: number | undefined;
  await waitFor(() => {
    watchdog = descendants(parent.pid as number).find((pid) => commandLine(pid).includes('watchdog.ts'));
    return watchdog !== undefined;
  }, 10_000);
  return { process: parent, children, watchdog: watchdog as number };
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0).filter(alive)) process.kill(pid, 'SIGKILL');
});

describe('the watchdog', () => {
  it('stops the children of a parent killed with SIGKILL, then exits', async () => {
    const parent = await parentOf(['sleep 300', 'sleep 300']);
    started.push(...parent.children, parent.watchdog);
    expect(parent.children.every(alive)).toBe(true);
    parent.process.kill('SIGKILL');
    expect(await waitFor(() => !parent.children.some(alive), 5_000)).toBe(true);
    expect(await waitFor(() => !alive(parent.watchdog), 5_000)).toBe(true);
  });

  it('kills a child that ignores SIGTERM once its grace period is over', async () => {
    // Ignored signals stay ignored across exec: sleep ignores SIGTERM too.
    const parent = await parentOf(["trap '' TERM; sleep 300"]);
    started.push(...parent.children, parent.watchdog);
    parent.process.kill('SIGKILL');
    expect(await waitFor(() => !parent.children.some(alive), 3_000)).toBe(false);
    expect(await waitFor(() => !parent.children.some(alive), 15_000)).toBe(true);
  }, 30_000);

  it('exits with a parent that stopped its children itself', async () => {
    const stopThenExit = 'setTimeout(() => void children[0].stop().then(() => process.exit(0)), 2000);';
    const parent = await parentOf(['sleep 300'], stopThenExit);
    started.push(...parent.children, parent.watchdog);
    expect(await waitFor(() => !alive(parent.watchdog), 5_000)).toBe(true);
    expect(parent.children.some(alive)).toBe(false);
  });
});
