import OpenAI, { toFile, type APIError } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { Simulator } from '../../src/provider';

/**
 * Jest runs tests in their own realm, where the DOMException that fetch throws
 * on abort is not an `Error`; the openai client then loses its name and
 * reports a timeout as a plain APIConnectionError. Re-throwing it as a
 * same-realm Error named AbortError restores what the client sees in
 * production (APIConnectionTimeoutError).
 */
const realmSafeFetch: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (err) {
    const e = err as { name?: string; message?: string } | null;
    if (e?.name === 'AbortError') throw Object.assign(new Error(e.message ?? 'aborted'), { name: 'AbortError' });
    throw err;
  }
};

/** The official client against a simulator; no retries, so every error surfaces. */
export function clientFor(sim: Pick<Simulator, 'url'>, options: { apiKey?: string; timeout?: number } = {}): OpenAI {
  return new OpenAI({
    baseURL: sim.url,
    apiKey: options.apiKey ?? 'sk-test',
    maxRetries: 0,
    timeout: options.timeout ?? 10_000,
    fetch: realmSafeFetch,
  });
}

export type ChatParams = OpenAI.ChatCompletionCreateParamsNonStreaming;

/** A deliberately invalid request: bypasses the client's types so the server's validation is what is tested. */
export const unchecked = <T>(value: unknown): T => value as T;

export function chatBody(content: string, extra: Partial<ChatParams> = {}): ChatParams {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra };
}

export interface ChatBatchLine {
  custom_id: string;
  method: string;
  url: string;
  body: ChatParams;
}

export function chatLine(customId: string, content: string): ChatBatchLine {
  return { custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: chatBody(content) };
}

/** One line of a batch output or error file. */
export interface BatchResultLine {
  id: string;
  custom_id: string;
  response: {
    status_code: number;
    request_id: string;
    body: {
      choices?: OpenAI.ChatCompletion['choices'];
      usage?: unknown;
      data?: { embedding: number[] }[];
      error?: ErrorPayload;
    };
  } | null;
  error: { code: string; message: string } | null;
}

export interface ErrorPayload {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** What a failed client call throws; `error` is OpenAI's error payload when the server sent one. */
export type CaughtError = Omit<APIError, 'error'> & { error: ErrorPayload };

/** Lines are objects (serialized) or raw strings (written as they are, e.g. broken JSON). */
export async function uploadJsonl(client: OpenAI, lines: readonly unknown[], filename = 'in.jsonl') {
  const text = lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';
  return client.files.create({ file: await toFile(Buffer.from(text), filename), purpose: 'batch' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until the batch satisfies `done` (default: a terminal status). */
export async function waitForBatch(
  client: OpenAI,
  id: string,
  done: (batch: Batch) => boolean = (b) => ['completed', 'failed', 'expired', 'cancelled'].includes(b.status),
  timeoutMs = 20_000,
): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (done(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export async function readJsonl(client: OpenAI, fileId: string | null | undefined): Promise<BatchResultLine[]> {
  if (fileId === null || fileId === undefined) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BatchResultLine);
}

/** Run a call that must fail and return the thrown error. */
export async function failureOf(promise: Promise<unknown>): Promise<CaughtError> {
  try {
    await promise;
  } catch (err) {
    return err as CaughtError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
