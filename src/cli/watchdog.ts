/**
 * The watchdog of a process's children (`ManagedChild`): once that process is gone, however it went,
 * kill -9 included, the watchdog stops the children it left behind, which would otherwise run on as
 * orphans holding their ports. Its parent starts it detached (a session of its own), so that signals
 * sent to the parent's process group or terminal do not reach it, and talks to it over its stdin,
 * one line each:
 *   +<pid>  watch the process group that <pid> leads (a child was started)
 *   -<pid>  forget it (that child exited)
 * The end of stdin (the parent's end of the pipe closes when the parent exits) or a new parent pid
 * means the parent is gone: SIGTERM to every group still watched, SIGKILL to those still there after
 * the grace period (argv[2], ms), then exit.
 */
import { createInterface } from 'node:readline';

const graceMs = Number(process.argv[2] ?? 10_000);
const parent = process.ppid;
const groups = new Set<number>();
let stopping = false;

/** Sends `signal` to the process group; false when the group is gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

async function stopOrphans(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const left = [...groups].filter((pgid) => signalGroup(pgid, 'SIGTERM'));
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && left.some((pgid) => signalGroup(pgid, 0))) {
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const pgid of left) signalGroup(pgid, 'SIGKILL');
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) return;
    if (line.startsWith('+')) groups.add(pid);
    else if (line.startsWith('-')) groups.delete(pid);
  })
  .on('close', () => void stopOrphans());

// Belt and braces: a process that inherited the pipe could keep it open after the parent died.
setInterval(() => {
  if (process.ppid !== parent) void stopOrphans();
}, 1000);
