/** Reading Prometheus from tests: the text exposition format, the HTTP query API, and the shipped config's shape. */
import { z } from 'zod';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of an exposition (comments and blank lines skipped); throws on a line it cannot read. */
export function samples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = LINE.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = JSON.parse(`"${v}"`) as string;
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The sum of the samples named `name` whose labels include `match`. */
export function sum(all: Sample[], name: string, match: Record<string, string> = {}): number {
  return all
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** An instant query's values (one per series), in the order Prometheus answers. */
export async function promQuery(base: string, query: string): Promise<number[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { value: [number, string] }[] };
  };
  if (body.status !== 'success' || !body.data) throw new Error(`${query}: ${body.error ?? res.status}`);
  return body.data.result.map((r) => Number(r.value[1]));
}

/** What tests read of deploy/prometheus/prometheus.yml (other keys pass through). */
export const PrometheusConfigSchema = z.looseObject({
  global: z.looseObject({}).optional(),
  rule_files: z.array(z.string()),
  scrape_configs: z.array(z.looseObject({ job_name: z.string() })),
});

/**
 * The bucket [lower, upper] of a histogram (its `_bucket` samples whose labels include `match`, summed per `le`)
 * that holds the q-quantile of what it observed: where histogram_quantile's estimate must fall.
 */
export function quantileBucket(
  all: Sample[],
  name: string,
  q: number,
  match: Record<string, string> = {},
): [number, number] {
  const cumulative = new Map<number, number>();
  for (const s of all)
    if (s.name === `${name}_bucket` && Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      cumulative.set(le, (cumulative.get(le) ?? 0) + s.value);
    }
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const rank = q * (cumulative.get(Infinity) ?? 0);
  let lower = 0;
  for (const le of bounds) {
    if ((cumulative.get(le) ?? 0) >= rank) return [lower, le];
    lower = le;
  }
  throw new Error(`${name}: no buckets`);
}
