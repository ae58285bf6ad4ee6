/**
 * Scenario 5's lines: a million review requests as NDJSON (made in slices, held in the bench's memory
 * before the POST), the streamed POST itself, and the custom_ids that map each line back to its item.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { makeReviewRequests } from '../examples/reviews';
import type { BatchLine } from '../src/shared/contracts';

const SLICE = 10_000;

export const ingestId = (i: number): string => `i-${String(i + 1).padStart(7, '0')}`;
export const ingestIndex = (customId: string): number =>
  customId.startsWith('i-') ? Number(customId.slice(2)) - 1 : -1;

/**
 * Review requests short enough that a million fit the default
 * 200 MiB upload limit as NDJSON (no system prompt), in slices.
 */
function* ndjsonSlices(n: number): Generator<BatchLine[]> {
  for (let start = 0; start < n; start += SLICE) {
    yield makeReviewRequests(Math.min(SLICE, n - start), 1000 + start).map((l, i) => ({
      custom_id: ingestId(start + i),
      method: l.method,
      url: l.url,
      body: { model: l.body.model, max_tokens: 5, messages: (l.body.messages as unknown[]).slice(1) },
    }));
  }
}

export function* ndjsonLines(n: number): Generator<BatchLine> {
  for (const slice of ndjsonSlices(n)) yield* slice;
}

/** The NDJSON body, in the bench's memory before the POST so that making it costs nothing during it. */
export function ndjson(n: number): { chunks: Buffer[]; bytes: number } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for (const slice of ndjsonSlices(n)) {
    const buf = Buffer.from(slice.map((l) => `${JSON.stringify(l)}\n`).join(''));
    chunks.push(buf);
    bytes += buf.length;
  }
  return { chunks, bytes };
}

/** One streamed NDJSON POST /batches; resolves with the created batch once the API has answered. */
export function postNdjson(api: string, body: Buffer[]): Promise<{ id: string; total: number }> {
  return new Promise((ok, fail) => {
    const req = request(
      `${api}/batches`,
      { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          if (res.statusCode !== 201)
            return fail(new Error(`NDJSON POST /batches: ${res.statusCode} ${text.slice(0, 500)}`));
          ok(JSON.parse(text) as { id: string; total: number });
        });
      },
    );
    req.on('error', fail);
    void (async () => {
      for (const chunk of body) if (!req.write(chunk)) await once(req, 'drain');
      req.end();
    })().catch(fail);
  });
}
