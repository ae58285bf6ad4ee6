import { Prng } from './prng';

export type Fault = 'none' | 'error' | 'hang' | 'malformed' | 'throttled';

/** 99th percentile of the standard normal distribution. */
const Z_99 = 2.3263;

export interface FaultRates {
  errorRate: number;
  hangRate: number;
  malformedRate: number;
  throttleRate: number;
}

/** How long a throttled call is told to wait (Retry-After): the capacity it lacked comes back soon. */
export const THROTTLE_RETRY_AFTER_MS = 250;

/**
 * Chooses which realtime requests misbehave and how slow each answer is. One
 * seeded stream serves both, so a run with the same seed and the same request
 * order sees the same faults.
 */
export class FaultInjector {
  private rng: Prng;

  constructor(seed: number) {
    this.rng = Prng.fromSeed(seed);
  }

  reseed(seed: number): void {
    this.rng = Prng.fromSeed(seed);
  }

  /**
   * One draw splits [0, 1) into error | hang | malformed | throttled | none, so each rate
   * is the fraction of requests with that fault. If the rates add up to more
   * than 1, the earlier kinds win.
   */
  decide(rates: FaultRates): Fault {
    const { errorRate, hangRate, malformedRate, throttleRate } = rates;
    if (errorRate === 0 && hangRate === 0 && malformedRate === 0 && throttleRate === 0) return 'none';
    const u = this.rng.next();
    if (u < errorRate) return 'error';
    if (u < errorRate + hangRate) return 'hang';
    if (u < errorRate + hangRate + malformedRate) return 'malformed';
    if (u < errorRate + hangRate + malformedRate + throttleRate) return 'throttled';
    return 'none';
  }

  errorStatus(): 500 | 502 | 503 {
    return this.rng.pick([500, 502, 503] as const);
  }

  /** Where in a body to cut it: somewhere strictly inside, so it never parses. */
  cutPoint(length: number): number {
    return Math.max(1, Math.min(length - 1, Math.floor(length * (0.2 + 0.6 * this.rng.next()))));
  }

  /**
   * Lognormal latency: median m and 99th percentile p give
   * mu = ln m, sigma = ln(p / m) / z99.
   */
  latencyMs(medianMs: number, p99Ms: number): number {
    if (medianMs <= 0) return 0;
    const sigma = p99Ms > medianMs ? Math.log(p99Ms / medianMs) / Z_99 : 0;
    return sigma === 0 ? medianMs : Math.exp(Math.log(medianMs) + sigma * this.rng.gaussian());
  }
}

/** `[sim:latency=1500]` anywhere in a realtime call's body: that call answers after 1,500 ms, whatever is drawn. */
const LATENCY_MARKER = /\[sim:latency=(\d{1,6})\]/;

/** The latency a body asks for with LATENCY_MARKER (a test's one slow call among fast ones), or undefined. */
export function markedLatencyMs(body: unknown): number | undefined {
  const marked = body === undefined ? null : LATENCY_MARKER.exec(JSON.stringify(body));
  return marked ? Number(marked[1]) : undefined;
}

export const FAULT_MESSAGES: Record<500 | 502 | 503, { message: string; type: string }> = {
  500: {
    message: 'The server had an error while processing your request. Sorry about that! (simulated fault)',
    type: 'server_error',
  },
  502: { message: 'Bad gateway. (simulated fault)', type: 'server_error' },
  503: {
    message: 'The engine is currently overloaded, please try again later. (simulated fault)',
    type: 'server_error',
  },
};
