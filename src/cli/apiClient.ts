/** A small client of llmbatch's project API, for the CLI and the demo: JSON calls, NDJSON upload, streamed results. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BatchOutputLine, BatchProgress } from '../shared/contracts';
import type { BatchStatus } from '../shared/statuses';
import type { CreatedBatchView, WaitingBatchView } from '../shared/views';

/**
 * `POST /batches?wait=…` answered: the batch ended within the wait (its id, status and result lines), or it goes
 * on (202: the batch, and why it was not waited for).
 */
export type WaitedSubmission =
  | { ended: true; id: string; status: BatchStatus; lines: BatchOutputLine[] }
  | { ended: false; batch: WaitingBatchView };

/** An answer other than 2xx, with the API's own message (`{error: {message}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  private headers(contentType?: string): Record<string, string> {
    return {
      ...(contentType ? { 'content-type': contentType } : {}),
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
  }

  private async send(
    method: string,
    path: string,
    init: { body?: RequestInit['body']; contentType?: string } = {},
  ): Promise<Response> {
    // A streamed body needs half duplex (undici): the upload is sent as it is read.
    const request: RequestInit & { duplex?: 'half' } = {
      method,
      headers: this.headers(init.contentType),
      body: init.body,
    };
    if (init.body instanceof ReadableStream) request.duplex = 'half';
    const res = await fetch(`${this.baseUrl}${path}`, request);
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // not JSON: the text is the message
      }
      throw new ApiError(res.status, `${method} ${path}: ${res.status} ${message}`);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' },
    );
    return (await res.json()) as T;
  }

  /** A JSONL file of batch request lines, streamed as NDJSON (the API checks each line); options in the query. */
  async submitFile(file: string, options: Record<string, string | undefined>): Promise<CreatedBatchView> {
    return (await (await this.postFile(file, options)).json()) as CreatedBatchView;
  }

  /** Like submitFile, with `?wait=`: the results if the batch ends within `wait` (e.g. `60s`), else the 202. */
  async submitFileAndWait(
    file: string,
    options: Record<string, string | undefined>,
    wait: string,
  ): Promise<WaitedSubmission> {
    const res = await this.postFile(file, { ...options, wait });
    if (res.status !== 200) return { ended: false, batch: (await res.json()) as WaitingBatchView };
    const text = await res.text();
    const lines = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as BatchOutputLine);
    const id = res.headers.get('llmbatch-batch-id') ?? '';
    const status = (res.headers.get('llmbatch-batch-status') ?? 'completed') as BatchStatus;
    return { ended: true, id, status, lines };
  }

  private async postFile(file: string, options: Record<string, string | undefined>): Promise<Response> {
    const query = new URLSearchParams(
      Object.entries(options).filter((e): e is [string, string] => e[1] !== undefined),
    ).toString();
    const body = Readable.toWeb(createReadStream(file));
    return this.send('POST', `/batches${query ? `?${query}` : ''}`, { body, contentType: 'application/x-ndjson' });
  }

  /** A batch's results (NDJSON) as a stream; `query` e.g. `?status=failed`. */
  async results(id: string, query = ''): Promise<Readable> {
    const res = await this.send('GET', `/batches/${encodeURIComponent(id)}/results${query}`);
    if (!res.body) throw new ApiError(res.status, 'results: empty response');
    return Readable.fromWeb(res.body);
  }
}

/** The lines in a file, counting stops past `max` (a large file is not read to its end). */
export async function linesUpTo(file: string, max: number): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (const byte of chunk) if (byte === 0x0a) lines += 1;
    last = chunk.at(-1) ?? last;
    if (lines > max) return lines;
  }
  return last === 0x0a ? lines : lines + 1; // a last line without a newline counts
}

/** One line of progress: a bar, the counts and the status. */
export function progressBar(p: BatchProgress, width = 30): string {
  const done = p.succeeded + p.failed;
  const filled = Math.round((done / Math.max(1, p.total)) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  return `${bar} ${done}/${p.total} (${p.succeeded} ok, ${p.failed} failed) ${p.status}`;
}

/**
 * What a progress line adds when there is something to say: repairs and invalid structured outputs when non-zero,
 * and a pipeline's items past / stopped at each step, e.g. `, repaired 3, invalid 1, steps headline 40/0 intro 38/2`.
 */
export function progressDetails(p: BatchProgress): string {
  const parts: string[] = [];
  if (p.repaired) parts.push(`repaired ${p.repaired}`);
  if (p.invalidOutput) parts.push(`invalid ${p.invalidOutput}`);
  const steps = Object.entries(p.steps ?? {});
  if (steps.length > 0) parts.push(`steps ${steps.map(([name, c]) => `${name} ${c.succeeded}/${c.failed}`).join(' ')}`);
  return parts.map((part) => `, ${part}`).join('');
}
