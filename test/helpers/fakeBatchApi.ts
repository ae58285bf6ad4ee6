/**
 * An in-memory stand-in for the Files and Batches API, implementing only what the native activities call.
 * Tests script it: a create whose answer is lost, statuses and counts per retrieve, file contents.
 */
import { APIConnectionError, APIError } from 'openai';
import type OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';

export interface FakeFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  created_at: number;
}

export class FakeBatchApi {
  files = new Map<string, FakeFile>();
  /** Oldest first; listed newest first like the real API. */
  batches: Batch[] = [];
  calls = { upload: 0, create: 0, retrieve: 0, cancel: 0, listed: 0, content: 0 };
  /** The provider's clock in Unix seconds. */
  now = (): number => Math.floor(Date.now() / 1000);
  /** The next create is done by the provider but its answer never arrives (a timeout, a killed worker). */
  loseNextCreateAnswer = false;
  /** Answer every call with this HTTP status (e.g. 401). */
  failWith: number | undefined;
  /**
   * Called on every retrieve; may change the batch (status, counts,
   * file ids). May be async (e.g. read a test server's clock).
   */
  onRetrieve: (b: Batch, call: number) => void | Promise<void> = () => {};

  private seq = 0;

  addBatch(partial: Partial<Batch> = {}): Batch {
    const b = {
      id: `batch_${++this.seq}`,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      input_file_id: 'file_x',
      completion_window: '24h',
      status: 'validating',
      created_at: this.now(),
      expires_at: this.now() + 86_400,
      output_file_id: null,
      error_file_id: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: null,
      ...partial,
    } as unknown as Batch;
    this.batches.push(b);
    return b;
  }

  addFile(content: string, purpose = 'batch_output'): FakeFile {
    const f = { id: `file_${++this.seq}`, filename: 'out.jsonl', purpose, content, created_at: this.now() };
    this.files.set(f.id, f);
    return f;
  }

  private check(): void {
    if (this.failWith !== undefined)
      throw APIError.generate(
        this.failWith,
        { error: { message: `fake ${this.failWith}` } },
        `fake ${this.failWith}`,
        new Headers(),
      );
  }

  private find(id: string): Batch {
    const b = this.batches.find((x) => x.id === id);
    if (!b) throw APIError.generate(404, { error: { message: `no batch ${id}` } }, 'not found', new Headers());
    return b;
  }

  get client(): OpenAI {
    const api = {
      files: {
        create: async ({ file, purpose }: { file: File; purpose: string }) => {
          this.check();
          this.calls.upload += 1;
          const f = {
            id: `file_${++this.seq}`,
            filename: file.name,
            purpose,
            content: await file.text(),
            created_at: this.now(),
          };
          this.files.set(f.id, f);
          return {
            id: f.id,
            object: 'file',
            bytes: f.content.length,
            created_at: f.created_at,
            filename: f.filename,
            purpose,
          };
        },
        content: async (id: string) => {
          this.check();
          this.calls.content += 1;
          const f = this.files.get(id);
          if (!f) throw APIError.generate(404, { error: { message: `no file ${id}` } }, 'not found', new Headers());
          return new Response(f.content);
        },
      },
      batches: {
        create: async (params: { input_file_id: string; endpoint: string; metadata?: Record<string, string> }) => {
          this.check();
          this.calls.create += 1;
          const b = this.addBatch({
            input_file_id: params.input_file_id,
            endpoint: params.endpoint,
            metadata: params.metadata ?? null,
          });
          if (this.loseNextCreateAnswer) {
            this.loseNextCreateAnswer = false;
            throw new APIConnectionError({ message: 'socket hang up' });
          }
          return { ...b };
        },
        list: (_params?: { limit?: number }) => {
          this.check();
          const newestFirst = [...this.batches].reverse();
          const calls = this.calls;
          return (async function* () {
            for (const b of newestFirst) {
              calls.listed += 1;
              yield b;
            }
          })();
        },
        retrieve: async (id: string) => {
          this.check();
          this.calls.retrieve += 1;
          const b = this.find(id);
          await this.onRetrieve(b, this.calls.retrieve);
          return { ...b };
        },
        cancel: async (id: string) => {
          this.check();
          this.calls.cancel += 1;
          const b = this.find(id);
          if (b.status !== 'validating' && b.status !== 'in_progress' && b.status !== 'cancelling') {
            throw APIError.generate(
              409,
              { error: { message: `Cannot cancel a batch with status '${b.status}'.` } },
              'conflict',
              new Headers(),
            );
          }
          b.status = 'cancelling';
          return { ...b };
        },
      },
    };
    return api as unknown as OpenAI;
  }
}
