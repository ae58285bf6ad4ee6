/**
 * What one client got from a rate-limited simulator, read from its chat-completion
 * counters (`GET /_sim/stats`) sampled over the run. Background traffic is the
 * simulator's own bookkeeping, not HTTP requests, so these counts are the client's alone.
 */
import { performance } from 'node:perf_hooks';

export interface ChatCounts {
  ok: number;
  limited: number;
  all: number;
}

interface Sample extends ChatCounts {
  ms: number;
}

export interface RateFigures {
  /** Answers per second between 10% and 90% of the items answered (the steady part). */
  steadyRps: number;
  /** Seconds of that steady part. */
  steadyS: number;
  /** 429s over every chat request the client sent to the simulator. */
  limitedShare: number;
  counts: ChatCounts;
  /**
   * Longest time between two successive successful answers, from the first to the last. An upper
   * bound within the sampling interval: the samples only say that no answer came in between.
   */
  longestGapMs: number;
  sampleMs: number;
}

export async function chatCounts(simOrigin: string): Promise<ChatCounts> {
  const res = await fetch(`${simOrigin}/_sim/stats`);
  if (!res.ok) throw new Error(`GET ${simOrigin}/_sim/stats: ${res.status}`);
  const stats = (await res.json()) as { requests: Record<string, Record<string, number>> };
  const byStatus = stats.requests['/v1/chat/completions'] ?? {};
  return {
    ok: byStatus['200'] ?? 0,
    limited: byStatus['429'] ?? 0,
    all: Object.values(byStatus).reduce((a, b) => a + b, 0),
  };
}

/** Starts sampling every `everyMs`; the returned function stops and summarises for `n` items. */
export function sampleRate(simOrigin: string, n: number, everyMs = 100): () => Promise<RateFigures> {
  const t0 = performance.now();
  const samples: Sample[] = [{ ms: 0, ok: 0, limited: 0, all: 0 }];
  let stopped = false;
  const sample = async (): Promise<void> => {
    samples.push({ ...(await chatCounts(simOrigin)), ms: performance.now() - t0 });
  };
  const loop = (async () => {
    while (!stopped) {
      await sample();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await sample(); // the run is over: this one holds every answer
    return summarise(samples, n, everyMs);
  };
}

function summarise(samples: Sample[], n: number, sampleMs: number): RateFigures {
  const last = samples[samples.length - 1] as Sample;
  // First time the ok count reached k, interpolated between the samples around it.
  const at = (k: number): number => {
    const i = samples.findIndex((s) => s.ok >= k);
    if (i <= 0) return i === 0 ? 0 : NaN;
    const [a, b] = [samples[i - 1] as Sample, samples[i] as Sample];
    return a.ms + ((k - a.ok) / (b.ok - a.ok)) * (b.ms - a.ms);
  };
  const [lo, hi] = [Math.ceil(n * 0.1), Math.floor(n * 0.9)];
  const steadyMs = at(hi) - at(lo);
  return {
    steadyRps: (hi - lo) / (steadyMs / 1000),
    steadyS: steadyMs / 1000,
    limitedShare: last.all ? last.limited / last.all : 0,
    counts: { ok: last.ok, limited: last.limited, all: last.all },
    longestGapMs: longestGap(samples),
    sampleMs,
  };
}

/** Between samples where the ok count grew: the longest stretch, from the first answer to the last. */
function longestGap(samples: Sample[]): number {
  let longest = 0;
  let lastGrowth: number | undefined;
  for (let i = 1; i < samples.length; i++) {
    const [prev, cur] = [samples[i - 1] as Sample, samples[i] as Sample];
    if (cur.ok === prev.ok) continue;
    if (lastGrowth !== undefined) longest = Math.max(longest, cur.ms - lastGrowth);
    lastGrowth = cur.ms;
  }
  return longest;
}
