/** Process-table helpers for the tests that run the stack as a user would: free ports, a process tree, liveness. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from '../durability/harness';

/** True when nothing listens on 127.0.0.1:port (we could bind it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const probe = createServer().once('error', () => ok(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok(true)));
  });
}

/** The environment for one stack: free ports, its own data dir, the simulated provider. */
export async function stackEnv(): Promise<NodeJS.ProcessEnv> {
  const [temporal, ui, provider, api] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const metrics = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LLMBATCH_DATA_DIR: mkdtempSync(join(tmpdir(), 'llmbatch-stack-')),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TEMPORAL_UI_PORT: String(ui),
    PROVIDER_PORT: String(provider),
    API_PORT: String(api),
    LLMBATCH_WORKER_METRICS_PORT: String(metrics),
  };
  delete env.OPENAI_BASE_URL;
  delete env.OPENAI_API_KEY;
  return env;
}

/** The ports a stack started with `stackEnv()` listens on. */
export function stackPorts(env: NodeJS.ProcessEnv): number[] {
  return [
    Number(env.TEMPORAL_ADDRESS?.split(':')[1]),
    Number(env.TEMPORAL_UI_PORT),
    Number(env.PROVIDER_PORT),
    Number(env.API_PORT),
    Number(env.LLMBATCH_WORKER_METRICS_PORT),
  ];
}

interface Row {
  pid: number;
  ppid: number;
  zombie: boolean;
}

function processTable(): Row[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,stat='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([p, pp, stat]) => ({ pid: Number(p), ppid: Number(pp), zombie: (stat ?? '').startsWith('Z') }));
}

/** Every live descendant of `pid`, from the process table. */
export function descendants(pid: number): number[] {
  const rows = processTable();
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const r of rows) {
      if (r.ppid === parent && !r.zombie) {
        found.push(r.pid);
        walk(r.pid);
      }
    }
  };
  walk(pid);
  return found;
}

export function parentOf(pid: number): number | undefined {
  return processTable().find((r) => r.pid === pid)?.ppid;
}

/** The command line of a live process ('' when it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}
