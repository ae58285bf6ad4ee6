/** A small client of llmbatch's project API, for the CLI and the demo: JSON calls, NDJSON upload, streamed results. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BatchProgress } from '../shared/contracts';
import type { CreatedBatchView } from '../shared/views';

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
    const query = new URLSearchParams(
      Object.entries(options).filter((e): e is [string, string] => e[1] !== undefined),
    ).toString();
    const body = Readable.toWeb(createReadStream(file));
    const res = await this.send('POST', `/batches${query ? `?${query}` : ''}`, {
      body,
      contentType: 'application/x-ndjson',
    });
    return (await res.json()) as CreatedBatchView;
  }

  /** A batch's results (NDJSON) as a stream; `query` e.g. `?status=failed`. */
  async results(id: string, query = ''): Promise<Readable> {
    const res = await this.send('GET', `/batches/${encodeURIComponent(id)}/results${query}`);
    if (!res.body) throw new ApiError(res.status, 'results: empty response');
    return Readable.fromWeb(res.body);
  }
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
