/**
 * Runs the stack's processes as children, each in its own process group so a
 * shutdown reaches their children too (the dev server, tsx's node). Output goes
 * to <dataDir>/logs/<name>.log and, for chosen children, to the console.
 * A watchdog process (watchdog.ts) stops them if this process dies without
 * stopping them itself (kill -9, a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { readableLine } from './readableLog';

export const REPO_ROOT = resolve(__dirname, '..', '..');

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  echo?: boolean;
}

export class ManagedChild {
  readonly process: ChildProcess;
  readonly logFile: string;
  private exited = false;
  readonly exitPromise: Promise<void>;
  private readonly lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly spec: ChildSpec,
    logDir: string,
  ) {
    mkdirSync(logDir, { recursive: true });
    this.logFile = join(logDir, `${spec.name}.log`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.process = spawn(spec.command, spec.args, {
      cwd: REPO_ROOT,
      env: spec.env ?? process.env,
      detached: true, // own process group: kill(-pid) reaches grandchildren
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = this.process.pid;
    if (pid !== undefined) tellWatchdog(`+${pid}`);
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        log.write(`${line}\n`);
        if (spec.echo) console.log(process.stdout.isTTY ? readableLine(spec.name, line) : `[${spec.name}] ${line}`);
        for (const listener of this.lineListeners) listener(line);
      });
    }
    this.exitPromise = new Promise((done) =>
      this.process.once('exit', () => {
        this.exited = true;
        if (pid !== undefined) tellWatchdog(`-${pid}`);
        log.end();
        done();
      }),
    );
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Resolves with the first line that matches; rejects if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(
        () => finish(new Error(`${this.spec.name}: not ready after ${timeoutMs} ms; see ${this.logFile}`)),
        timeoutMs,
      );
      const listener = (line: string): void => {
        if (pattern.test(line)) finish(undefined, line);
      };
      const onExit = (): void => finish(new Error(`${this.spec.name} exited during start-up:\n${this.tail()}`));
      const finish = (err?: Error, line = ''): void => {
        clearTimeout(timer);
        this.lineListeners.delete(listener);
        this.process.off('exit', onExit);
        if (err) fail(err);
        else ok(line);
      };
      this.lineListeners.add(listener);
      this.process.once('exit', onExit);
    });
  }

  tail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to the whole group, then SIGKILL if it lingers. */
  async stop(graceMs = 8000): Promise<void> {
    if (!this.running || this.process.pid === undefined) return;
    signalGroup(this.process.pid, 'SIGTERM');
    const timer = setTimeout(() => this.process.pid !== undefined && signalGroup(this.process.pid, 'SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // The leader may exit before its children: make sure the group is gone.
    signalGroup(this.process.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** How long the watchdog waits after SIGTERM before SIGKILL: above `ManagedChild.stop`'s grace. */
const WATCHDOG_GRACE_MS = 10_000;

let watchdog: ChildProcess | undefined;

/**
 * Tells this process's watchdog (started with the first child) of a child's start (`+pid`) or exit (`-pid`).
 * The watchdog runs in a session of its own and does not keep this process alive.
 */
function tellWatchdog(line: string): void {
  if (!watchdog) {
    const entry = tsEntry('src/cli/watchdog.ts', [String(WATCHDOG_GRACE_MS)]);
    watchdog = spawn(entry.command, entry.args, {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => {}); // no watchdog: the children still stop with a clean shutdown
    watchdog.stdin?.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as Socket | null)?.unref(); // a pipe is a net.Socket
  }
  watchdog.stdin?.write(`${line}\n`);
}

/** A TypeScript entry point of ours, run by node with tsx's loader (no npx layer in between). */
export function tsEntry(file: string, args: string[] = []): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, file), ...args] };
}

/** Polls `check` until it succeeds or the time runs out. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  child?: ManagedChild,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && !child.running) throw new Error(`${child.spec.name} exited during start-up:\n${child.tail()}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms${child ? `; see ${child.logFile}` : ''}`);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}
