/**
 * Resident memory of the stack's processes, from /proc/<pid>/status: VmRSS sampled while something
 * runs (the peak of the samples), and VmHWM, the kernel's own high-water mark of each process since it
 * started, which no sampling interval can miss.
 */
import { readFileSync } from 'node:fs';

const MB = 1024 * 1024;

/** A field of /proc/<pid>/status in bytes (the kernel gives kB); NaN once the process is gone. */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface RssFigures {
  /** Largest VmRSS sampled, in MB, by process name. */
  peakMb: Record<string, number>;
  /** VmHWM at the end, in MB: each process's peak since it started. */
  highWaterMb: Record<string, number>;
  /** VmRSS when sampling began, in MB. */
  firstMb: Record<string, number>;
  /** VmHWM when sampling began: what the process had reached before (its start-up, earlier work). */
  highWaterBeforeMb: Record<string, number>;
  samples: number;
}

/** Samples every `everyMs` until the returned function is called. */
export function sampleRss(pids: Record<string, number | undefined>, everyMs = 100): () => RssFigures {
  const named = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const peak = new Map<string, number>(named.map(([n]) => [n, 0]));
  let samples = 0;
  const before = Object.fromEntries(named.map(([n, pid]) => [n, statusBytes(pid, 'VmHWM') / MB]));
  const first = Object.fromEntries(named.map(([n, pid]) => [n, statusBytes(pid, 'VmRSS') / MB]));
  const sample = (): void => {
    samples += 1;
    for (const [name, pid] of named) {
      const rss = statusBytes(pid, 'VmRSS');
      if (rss > (peak.get(name) ?? 0)) peak.set(name, rss);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return {
      peakMb: Object.fromEntries([...peak].map(([n, b]) => [n, b / MB])),
      highWaterMb: Object.fromEntries(named.map(([n, pid]) => [n, statusBytes(pid, 'VmHWM') / MB])),
      highWaterBeforeMb: before,
      firstMb: first,
      samples,
    };
  };
}
