/**
 * CPU time per process group (each stack child runs in its own group, so the
 * group includes tsx's node and the Temporal CLI's server) and for the whole
 * machine, from /proc, plus each Node process's main thread (its event loop).
 * With no provider latency the runs are CPU-bound, so CPU per request (and
 * which event loop is full) is the measured explanation of any gap.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds used so far by every live process in each group (plus reaped children it waited for). */
function groupSeconds(groups: number[]): Map<number, number> {
  const totals = new Map<number, number>(groups.map((g) => [g, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp ... utime(11) stime(12) cutime(13) cstime(14).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(f[2]);
    if (!totals.has(pgrp)) continue;
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    totals.set(pgrp, (totals.get(pgrp) ?? 0) + ticks / TICKS);
  }
  return totals;
}

/**
 * CPU seconds used so far by each PostgreSQL backend serving database `name` (their command line reads
 * "postgres: <user> <database> <client> <state>"), by pid. The server's shared processes (WAL writer,
 * checkpointer) are not counted.
 */
function databaseSeconds(name: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${name} `)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(entry), (Number(f[11]) + Number(f[12])) / TICKS);
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
  }
  return byPid;
}

/** CPU used between two readings by the backends alive at the second (one that exited meanwhile is not counted). */
function databaseDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/**
 * CPU seconds of a process's main thread. For Node that is the event loop: JS runs only there,
 * so a main thread near 100% busy caps the process however many cores are free.
 */
function mainThreadSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** Busy seconds of all cores together (everything but idle and iowait). */
/** Seconds the hypervisor ran something else while this VM's cores wanted to run (steal), all cores together. */
function stealSeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return (cpu[7] ?? 0) / TICKS;
}

function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / TICKS;
}

export interface CpuSample {
  /** CPU seconds by name: the stack's children and "bench" (this process: the loop or the polling client). */
  byName: Record<string, number>;
  /** Main-thread (event loop) CPU seconds by name. */
  mainThread: Record<string, number>;
  /** Busy cores over the interval, 0..cores (ours and anyone else's). */
  coresBusy: number;
  /** Of those, cores' worth of time the host gave to other guests (steal, counted in coresBusy). */
  stealCores: number;
  wallSeconds: number;
}

/**
 * Starts a measurement; the returned function ends it. With `database`, the PostgreSQL backends
 * serving that database are measured too, as "postgres".
 */
export function cpuMeter(groups: Record<string, number | undefined>, database?: string): () => CpuSample {
  const named = Object.entries(groups).filter((e): e is [string, number] => e[1] !== undefined);
  const before = groupSeconds(named.map(([, g]) => g));
  const dbBefore = database === undefined ? undefined : databaseSeconds(database);
  const withSelf: [string, number][] = [['bench', process.pid], ...named];
  const mainBefore = withSelf.map(([, pid]) => mainThreadSeconds(pid));
  const self = process.cpuUsage();
  const busy = machineBusySeconds();
  const steal = stealSeconds();
  const t0 = process.hrtime.bigint();
  return () => {
    const after = groupSeconds(named.map(([, g]) => g));
    const selfDelta = process.cpuUsage(self);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const byName: Record<string, number> = { bench: (selfDelta.user + selfDelta.system) / 1e6 };
    for (const [name, g] of named) byName[name] = (after.get(g) ?? 0) - (before.get(g) ?? 0);
    if (database !== undefined && dbBefore) byName.postgres = databaseDelta(dbBefore, databaseSeconds(database));
    const mainThread = Object.fromEntries(
      withSelf.map(([name, pid], i) => [name, mainThreadSeconds(pid) - (mainBefore[i] ?? NaN)]),
    );
    return {
      byName,
      mainThread,
      coresBusy: (machineBusySeconds() - busy) / wall,
      stealCores: (stealSeconds() - steal) / wall,
      wallSeconds: wall,
    };
  };
}

/** Busy cores over the next `ms`: the bench shares the machine, and load from others skews every figure. */
export async function machineLoad(ms: number): Promise<number> {
  const busy = machineBusySeconds();
  await new Promise((r) => setTimeout(r, ms));
  return (machineBusySeconds() - busy) / (ms / 1000);
}

/**
 * Waits (up to `maxMs`) until other processes leave the machine nearly idle, so a timed run
 * starts on a quiet machine. Between runs the stack is idle, so busy cores here are someone else's.
 */
export async function waitQuiet(maxMs: number, say: (m: string) => void): Promise<void> {
  if (maxMs === 0) return; // not waiting: no need to measure
  const deadline = Date.now() + maxMs;
  let load = await machineLoad(1000);
  if (load < 0.25) return;
  say(
    `other processes keep ${load.toFixed(2)} cores busy; waiting up to ${Math.round(maxMs / 1000)} s for a quiet ` +
      'machine',
  );
  while (load >= 0.25 && Date.now() < deadline) load = await machineLoad(2000);
  say(
    load < 0.25
      ? 'machine quiet again'
      : `still ${load.toFixed(2)} cores busy; measuring anyway (the CPU tables show it)`,
  );
}
