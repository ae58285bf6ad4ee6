/**
 * A batch's results downloaded through the API (GET /batches/:id/results), checked as they stream in
 * without parsing each line whole: every line's custom_id is mapped to its item number and marked in a
 * bitmap, so a million lines cost the client little CPU beside the API it measures.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface Download {
  ms: number;
  lines: number;
  bytes: number;
  /** Distinct items seen; with no duplicates, missing or unknown ids it equals the expected total. */
  distinct: number;
  duplicates: number;
  /** Lines whose custom_id maps to no expected item. */
  unknown: number;
}

const KEY = Buffer.from('"custom_id":"');

/**
 * Streams the results of `batchId`; `indexOf` maps a custom_id to its item (0 ≤ i < total, or -1).
 * Timed from sending the request to the last byte.
 */
export function downloadResults(
  api: string,
  batchId: string,
  total: number,
  indexOf: (customId: string) => number,
): Promise<Download> {
  const seen = new Uint8Array(total);
  let [lines, bytes, distinct, duplicates, unknown] = [0, 0, 0, 0, 0];
  let rest: Buffer = Buffer.alloc(0);
  const line = (buf: Buffer, start: number, end: number): void => {
    if (end === start) return;
    lines += 1;
    const at = buf.indexOf(KEY, start);
    const from = at + KEY.length;
    const to = at < 0 || at >= end ? -1 : buf.indexOf(0x22, from);
    const i = to < 0 || to > end ? -1 : indexOf(buf.toString('latin1', from, to));
    if (i < 0 || i >= total) unknown += 1;
    else if (seen[i]) duplicates += 1;
    else {
      seen[i] = 1;
      distinct += 1;
    }
  };
  const t0 = performance.now();
  return new Promise((ok, fail) => {
    const req = request(`${api}/batches/${batchId}/results`, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => fail(new Error(`GET results of ${batchId}: ${res.statusCode} ${text.slice(0, 300)}`)));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
          line(buf, start, nl);
          start = nl + 1;
        }
        rest = buf.subarray(start);
      });
      res.on('end', () => {
        if (rest.length > 0) line(rest, 0, rest.length);
        ok({ ms: performance.now() - t0, lines, bytes, distinct, duplicates, unknown });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** What is wrong with a download of `total` items, or undefined when every item came exactly once. */
export function downloadProblem(d: Download, total: number): string | undefined {
  if (d.lines === total && d.distinct === total && d.duplicates === 0 && d.unknown === 0) return undefined;
  return (
    `expected ${total} lines with ${total} distinct custom_ids, got ${d.lines} lines, ${d.distinct} distinct, ` +
    `${d.duplicates} duplicates, ${d.unknown} unknown ids`
  );
}
