/**
 * The simulator's answered-call count sampled over a run, for both sides alike.
 * It splits a run into start-up, a steady middle and a tail without instrumenting
 * the engine: the gap to the loop shows up where it happens.
 */
import { performance } from 'node:perf_hooks';

interface Sample {
  ms: number;
  answered: number;
}

export interface Curve {
  /** ms from the start until 10% and 90% of the requests were answered, and the last one. */
  t10: number;
  t90: number;
  t100: number;
  /** The side's own end (loop finished, or llmbatch's completion seen). */
  end: number;
  /** Answers per second between 10% and 90%. */
  steadyRps: number;
}

/** Starts sampling GET /_sim/stats every `everyMs`; the returned function stops and summarises. */
export function sampleAnswers(simOrigin: string, n: number, everyMs = 100): (endMs: number) => Promise<Curve> {
  const t0 = performance.now();
  const samples: Sample[] = [{ ms: 0, answered: 0 }];
  let stopped = false;
  const sample = async (): Promise<number> => {
    const { total } = (await (await fetch(`${simOrigin}/_sim/stats`)).json()) as { total: number };
    samples.push({ ms: performance.now() - t0, answered: total });
    return total;
  };
  const loop = (async () => {
    while (!stopped && (await sample()) < n) await new Promise((r) => setTimeout(r, everyMs));
  })();
  return async (end) => {
    stopped = true;
    await loop;
    await sample(); // the run is over: this one holds every answer
    // First time the count reached `k`, interpolated between the samples around it.
    const at = (k: number): number => {
      const i = samples.findIndex((s) => s.answered >= k);
      if (i <= 0) return i === 0 ? 0 : NaN;
      const [a, b] = [samples[i - 1] as Sample, samples[i] as Sample];
      return a.ms + ((k - a.answered) / (b.answered - a.answered)) * (b.ms - a.ms);
    };
    const [t10, t90] = [at(Math.ceil(n * 0.1)), at(Math.floor(n * 0.9))];
    return { t10, t90, t100: Math.min(at(n), end), end, steadyRps: (0.8 * n) / ((t90 - t10) / 1000) };
  };
}
