/**
 * Malformed input, one table across the three ways in: POST /batches as NDJSON (options in the query),
 * POST /batches as JSON, and /v1 (a file upload, or a batch made from an uploaded file). Each row is
 * answered 400 naming where (`line 3` / `Line 3` of a file or NDJSON body, `requests.2` of a JSON array;
 * an option or metadata key for bad options; nothing for an input with no requests) and why. After each
 * row, and after the table: no batch directory (not even a staging one), no uploaded file, no workflow.
 *
 * Sizes: a line over the size limit is a 400 naming its line (the validator's limit); a body over the
 * tenant's upload quota is a 413 (it names the quota, not a line: it can be cut anywhere). The 413 rows
 * are marked so.
 *
 * Two apps share the stack's Temporal client and store: the stack's own (default model gpt-4o-mini, no
 * quotas to speak of), and a strict one with no default model, 3 items per batch, 64 KiB uploads and
 * no provider Batch API (LLMBATCH_NATIVE=off).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createApp } from '../../src/api/app';
import type { Config } from '../../src/config';
import { LIMITS } from '../../src/shared/contracts';
import { useApiStack } from '../helpers/apiStack';

const stack = useApiStack();
const STRICT_ITEMS = 3;
const STRICT_UPLOAD_BYTES = 64 * 1024;
let strictBase: string;
let strictServer: Server;

type Via = 'ndjson' | 'json' | 'upload' | 'v1batch';
type Body = string | Buffer | Record<string, unknown> | unknown[];

interface Row {
  name: string;
  via: Via;
  /** The strict app: no default model, 3 items per batch, 64 KiB uploads, native off. */
  strict?: boolean;
  /** NDJSON and upload bodies, the JSON body (a string is sent as is), or a /v1 batch body from the fixture files. */
  send: Body | (() => Body);
  /** Upload: send the multipart body as a stream, without a content-length. */
  chunked?: boolean;
  /** NDJSON: the options. */
  query?: string;
  status?: 400 | 413;
  /** Where: a line or index, a parameter; null when the input as a whole is at fault. */
  where: RegExp | null;
  reason: RegExp;
  code?: string;
}

// ---- lines ----------------------------------------------------------------------------------------
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const obj = (over: Record<string, unknown> = {}, id = 'a'): Record<string, unknown> => ({
  custom_id: id,
  method: 'POST',
  url: '/v1/chat/completions',
  body: chat,
  ...over,
});
const line = (over: Record<string, unknown> = {}, id = 'a'): string => JSON.stringify(obj(over, id));
const good = (id: string): string => line({}, id);
const file = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('');
const noModel = (id: string): string => line({ body: { messages: chat.messages } }, id);
const nano = (id: string): string => line({ body: { ...chat, model: 'gpt-4.1-nano' } }, id);
const long = line(
  { body: { ...chat, messages: [{ role: 'user', content: 'x'.repeat(LIMITS.maxLineBytes) }] } },
  'long',
);
const notUtf8 = Buffer.concat([
  Buffer.from(`${good('a')}\n{"custom_id": "`),
  Buffer.from([0xc3, 0x28, 0xff]),
  Buffer.from(`", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n`),
]);
/** One line of ~80 KiB: fine for the validator, over the strict app's 64 KiB upload quota. */
const big = line({ body: { ...chat, messages: [{ role: 'user', content: 'y'.repeat(80 * 1024) }] } }, 'big');
const past = '2020-01-01T00:00:00Z';
const reqs = (...lines: Record<string, unknown>[]) => ({ requests: lines });

// ---- /v1 fixture files: uploaded before the table (and before the snapshot of files) ----------------
const fixtures = { plain: '', noModel: '', mixed: '', mismatched: '', four: '' };
const fixtureContent: Record<keyof typeof fixtures, string> = {
  plain: file(good('a'), good('b')),
  noModel: file(good('a'), noModel('b')),
  mixed: file(good('a'), nano('b')),
  mismatched: file(
    good('a'),
    line({ url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'x' } }, 'b'),
  ),
  four: file(good('a'), good('b'), good('c'), good('d')),
};
const v1 =
  (input: keyof typeof fixtures, over: Record<string, unknown> = {}) =>
  () => ({ input_file_id: fixtures[input], endpoint: '/v1/chat/completions', completion_window: '24h', ...over });

const rows: Row[] = [
  // ---- POST /batches, application/x-ndjson -------------------------------------------------------
  {
    name: 'invalid JSON',
    via: 'ndjson',
    send: file(good('a'), '{"custom_id": "b",'),
    where: /\bline 2: /,
    reason: /invalid JSON/,
    code: 'invalid_json_line',
  },
  {
    name: 'a line that is a JSON array, not an object',
    via: 'ndjson',
    send: file('[1, 2]'),
    where: /\bline 1: /,
    reason: /must be a JSON object/,
    code: 'invalid_json_line',
  },
  {
    name: 'a line that is a JSON number',
    via: 'ndjson',
    send: file(good('a'), good('b'), '42'),
    where: /\bline 3: /,
    reason: /must be a JSON object/,
    code: 'invalid_json_line',
  },
  {
    name: 'missing custom_id',
    via: 'ndjson',
    send: file(good('a'), good('b'), line({ custom_id: undefined })),
    where: /\bline 3: /,
    reason: /missing custom_id/,
    code: 'missing_custom_id',
  },
  {
    name: 'empty custom_id',
    via: 'ndjson',
    send: file(line({ custom_id: '' })),
    where: /\bline 1: /,
    reason: /custom_id is empty/,
    code: 'invalid_custom_id',
  },
  {
    name: 'numeric custom_id',
    via: 'ndjson',
    send: file(good('a'), line({ custom_id: 7 })),
    where: /\bline 2: /,
    reason: /custom_id must be a string/,
    code: 'invalid_custom_id',
  },
  {
    name: 'duplicate custom_id',
    via: 'ndjson',
    send: file(good('a'), good('b'), good('a')),
    where: /\bline 3: /,
    reason: /duplicate custom_id "a" \(first on line 1\)/,
    code: 'duplicate_custom_id',
  },
  {
    name: 'method GET',
    via: 'ndjson',
    send: file(line({ method: 'GET' })),
    where: /\bline 1: /,
    reason: /method must be "POST"/,
    code: 'invalid_method',
  },
  {
    name: 'unsupported url',
    via: 'ndjson',
    send: file(good('a'), line({ url: '/v1/images/generations' }, 'b')),
    where: /\bline 2: /,
    reason: /unsupported url/,
    code: 'unsupported_url',
  },
  {
    name: 'body a string',
    via: 'ndjson',
    send: file(line({ body: 'hello' })),
    where: /\bline 1: /,
    reason: /body must be a JSON object/,
    code: 'invalid_body',
  },
  {
    name: 'a bad line after blank ones (blank lines count)',
    via: 'ndjson',
    send: `${good('a')}\r\n\r\n  \n${line({ method: 'PUT' }, 'b')}\n`,
    where: /\bline 4: /,
    reason: /method must be "POST"/,
    code: 'invalid_method',
  },
  {
    name: 'a bad line after 1,500 good ones (chunks already stored)',
    via: 'ndjson',
    send: file(...Array.from({ length: 1500 }, (_, i) => good(`g${i}`)), line({ url: '/v1/nope' }, 'bad')),
    where: /\bline 1501: /,
    reason: /unsupported url/,
    code: 'unsupported_url',
  },
  {
    name: 'line over the size limit',
    via: 'ndjson',
    send: file(good('a'), long),
    where: /\bline 2: /,
    reason: new RegExp(`longer than ${LIMITS.maxLineBytes} bytes`),
    code: 'line_too_long',
  },
  {
    name: 'not UTF-8',
    via: 'ndjson',
    send: notUtf8,
    where: /\bline 2: /,
    reason: /not valid UTF-8/,
    code: 'invalid_utf8',
  },
  {
    name: 'mixed models with mode=native',
    via: 'ndjson',
    query: '?mode=native',
    send: file(good('a'), nano('b')),
    where: /\bline 2: /,
    reason: /model "gpt-4.1-nano" differs from "gpt-4o-mini": a native batch holds one model/,
    code: 'mixed_models',
  },
  {
    name: 'model missing, no default',
    via: 'ndjson',
    strict: true,
    send: file(good('a'), noModel('b')),
    where: /\bline 2: /,
    reason: /body\.model is missing, and there is no default model/,
    code: 'missing_model',
  },
  {
    name: 'over the items quota',
    via: 'ndjson',
    strict: true,
    send: file(good('a'), good('b'), '', good('c'), good('d')),
    where: /\bline 5: /,
    reason: /more than 3 requests, the tenant's limit \(items per batch\)/,
    code: 'quota_exceeded',
  },
  { name: 'empty body', via: 'ndjson', send: '', where: null, reason: /no requests/, code: 'empty_file' },
  {
    name: 'only blank lines',
    via: 'ndjson',
    send: '\n\r\n   \n',
    where: null,
    reason: /no requests/,
    code: 'empty_file',
  },
  {
    name: 'priority=9',
    via: 'ndjson',
    query: '?priority=9',
    send: file(good('a')),
    where: /\bpriority\b/,
    reason: /too big|<=5/i,
  },
  {
    name: 'an unknown mode',
    via: 'ndjson',
    query: '?mode=fast',
    send: file(good('a')),
    where: /\bmode\b/,
    reason: /realtime|native|auto/,
  },
  {
    name: 'a deadline in the past',
    via: 'ndjson',
    query: `?deadline=${past}`,
    send: file(good('a')),
    where: /\bdeadline\b/,
    reason: /has passed/,
  },
  {
    name: 'a deadline that is not a date',
    via: 'ndjson',
    query: '?deadline=tomorrow',
    send: file(good('a')),
    where: /\bdeadline\b/,
    reason: /datetime/i,
  },
  {
    name: 'max_attempts=0',
    via: 'ndjson',
    query: '?max_attempts=0',
    send: file(good('a')),
    where: /\bmax_attempts\b/,
    reason: /too small|>=1/i,
  },
  {
    name: 'an unknown option key',
    via: 'ndjson',
    query: '?colour=red',
    send: file(good('a')),
    where: /"colour"/,
    reason: /unrecognized key/i,
  },
  {
    name: 'mode=native without a provider Batch API',
    via: 'ndjson',
    strict: true,
    query: '?mode=native',
    send: file(good('a')),
    where: /\bmode\b/,
    reason: /native needs a provider Batch API/,
  },
  {
    name: 'a body over the upload quota (streamed, no length)',
    via: 'ndjson',
    strict: true,
    status: 413,
    send: file(big),
    where: null,
    reason: /upload size/,
    code: 'quota_exceeded',
  },

  // ---- POST /batches, application/json -----------------------------------------------------------
  {
    name: 'invalid JSON',
    via: 'json',
    send: '{"requests": [\n{"custom_id": "a"}\n{"custom_id": "b"}]}',
    where: /position \d+/,
    reason: /Expected ',' or ']'/,
  },
  {
    name: 'a body that is not an object',
    via: 'json',
    send: [obj()],
    where: /\bbody\b/,
    reason: /expected object, received array/,
  },
  {
    name: 'requests not an array',
    via: 'json',
    send: { requests: file(good('a')) },
    where: /\brequests\b/,
    reason: /expected array/,
  },
  {
    name: 'a request that is not an object',
    via: 'json',
    send: reqs(obj({}, 'a'), obj({}, 'b'), 42 as unknown as Record<string, unknown>),
    where: /\brequests\.2\b/,
    reason: /expected object, received number/,
  },
  {
    name: 'missing custom_id',
    via: 'json',
    send: reqs(obj({}, 'a'), obj({ custom_id: undefined })),
    where: /\brequests\.1\.custom_id\b/,
    reason: /expected string/,
  },
  {
    name: 'empty custom_id',
    via: 'json',
    send: reqs(obj({ custom_id: '' })),
    where: /\brequests\.0\.custom_id\b/,
    reason: /too small|>=1/i,
  },
  {
    name: 'numeric custom_id',
    via: 'json',
    send: reqs(obj({ custom_id: 7 })),
    where: /\brequests\.0\.custom_id\b/,
    reason: /expected string, received number/,
  },
  {
    name: 'custom_id over 512 characters',
    via: 'json',
    send: reqs(obj({}, 'c'.repeat(513))),
    where: /\brequests\.0\.custom_id\b/,
    reason: /too big|<=512/i,
  },
  {
    name: 'duplicate custom_id',
    via: 'json',
    send: reqs(obj({}, 'a'), obj({}, 'b'), obj({}, 'a')),
    where: /\brequests\.2\.custom_id\b/,
    reason: /duplicate of requests\.0/,
  },
  {
    name: 'method GET',
    via: 'json',
    send: reqs(obj({ method: 'GET' })),
    where: /\brequests\.0\.method\b/,
    reason: /POST/,
  },
  {
    name: 'unsupported url',
    via: 'json',
    send: reqs(obj({}, 'a'), obj({ url: '/v1/images/generations' }, 'b')),
    where: /\brequests\.1\.url\b/,
    reason: /\/v1\/chat\/completions/,
  },
  {
    name: 'body not an object',
    via: 'json',
    send: reqs(obj({ body: 'hello' })),
    where: /\brequests\.0\.body\b/,
    reason: /expected record|expected object/,
  },
  {
    name: 'model missing, no default',
    via: 'json',
    strict: true,
    send: reqs(obj({}, 'a'), obj({ body: { messages: chat.messages } }, 'b')),
    where: /\brequests\.1: /,
    reason: /body\.model is missing, and there is no default model/,
    code: 'missing_model',
  },
  {
    name: 'mixed models with mode native',
    via: 'json',
    send: {
      ...reqs(obj({}, 'a'), obj({ body: { ...chat, model: 'gpt-4.1-nano' } }, 'b')),
      options: { mode: 'native' },
    },
    where: /\brequests\.1: /,
    reason: /a native batch holds one model/,
    code: 'mixed_models',
  },
  {
    name: 'over the items quota',
    via: 'json',
    strict: true,
    send: reqs(obj({}, 'a'), obj({}, 'b'), obj({}, 'c'), obj({}, 'd')),
    where: /\brequests\.3: /,
    reason: /more than 3 requests, the tenant's limit \(items per batch\)/,
    code: 'quota_exceeded',
  },
  { name: 'no requests', via: 'json', send: reqs(), where: /\brequests\b/, reason: /too small|>=1/i },
  {
    name: 'priority 9',
    via: 'json',
    send: { ...reqs(obj()), priority: 9 },
    where: /\bpriority\b/,
    reason: /too big|<=5/i,
  },
  {
    name: 'an unknown mode',
    via: 'json',
    send: { ...reqs(obj()), options: { mode: 'fast' } },
    where: /\boptions\.mode\b/,
    reason: /realtime|native|auto/,
  },
  {
    name: 'a deadline in the past',
    via: 'json',
    send: { ...reqs(obj()), options: { deadline: past } },
    where: /\boptions\.deadline\b/,
    reason: /has passed/,
  },
  {
    name: 'mode native without a provider Batch API',
    via: 'json',
    strict: true,
    send: { ...reqs(obj()), options: { mode: 'native' } },
    where: /\boptions\.mode\b/,
    reason: /native needs a provider Batch API/,
  },
  {
    name: 'an unknown option key',
    via: 'json',
    send: { ...reqs(obj()), options: { retries: 3 } },
    where: /\boptions\b.*"retries"/,
    reason: /unrecognized key/i,
  },
  {
    name: 'a body over the upload quota (declared length)',
    via: 'json',
    strict: true,
    status: 413,
    send: reqs(JSON.parse(big) as Record<string, unknown>),
    where: null,
    reason: /upload size/,
    code: 'quota_exceeded',
  },

  // ---- /v1: file upload --------------------------------------------------------------------------
  {
    name: 'invalid JSON',
    via: 'upload',
    send: file(good('a'), '{"custom_id": "b",'),
    where: /\bLine 2: /,
    reason: /invalid JSON/,
    code: 'invalid_json_line',
  },
  {
    name: 'a line that is a JSON string',
    via: 'upload',
    send: file('"hello"'),
    where: /\bLine 1: /,
    reason: /must be a JSON object/,
    code: 'invalid_json_line',
  },
  {
    name: 'missing custom_id',
    via: 'upload',
    send: file(good('a'), line({ custom_id: null })),
    where: /\bLine 2: /,
    reason: /missing custom_id/,
    code: 'missing_custom_id',
  },
  {
    name: 'non-string custom_id',
    via: 'upload',
    send: file(line({ custom_id: ['a'] })),
    where: /\bLine 1: /,
    reason: /custom_id must be a string/,
    code: 'invalid_custom_id',
  },
  {
    name: 'duplicate custom_id',
    via: 'upload',
    send: file(good('a'), good('b'), good('b')),
    where: /\bLine 3: /,
    reason: /duplicate custom_id "b" \(first on line 2\)/,
    code: 'duplicate_custom_id',
  },
  {
    name: 'method not POST',
    via: 'upload',
    send: file(line({ method: 'post' })),
    where: /\bLine 1: /,
    reason: /method must be "POST"/,
    code: 'invalid_method',
  },
  {
    name: 'unsupported url',
    via: 'upload',
    send: file(good('a'), line({ url: 'https://api.openai.com/v1/chat/completions' }, 'b')),
    where: /\bLine 2: /,
    reason: /unsupported url/,
    code: 'unsupported_url',
  },
  {
    name: 'body an array',
    via: 'upload',
    send: file(line({ body: [] })),
    where: /\bLine 1: /,
    reason: /body must be a JSON object/,
    code: 'invalid_body',
  },
  {
    name: 'line over the size limit',
    via: 'upload',
    send: file(good('a'), good('b'), long),
    where: /\bLine 3: /,
    reason: new RegExp(`longer than ${LIMITS.maxLineBytes} bytes`),
    code: 'line_too_long',
  },
  {
    name: 'not UTF-8',
    via: 'upload',
    send: notUtf8,
    where: /\bLine 2: /,
    reason: /not valid UTF-8/,
    code: 'invalid_utf8',
  },
  { name: 'empty file', via: 'upload', send: '', where: null, reason: /no requests/, code: 'empty_file' },
  {
    name: 'over the items quota',
    via: 'upload',
    strict: true,
    send: file(good('a'), good('b'), good('c'), good('d')),
    where: /\bLine 4: /,
    reason: /more than 3 requests/,
    code: 'too_many_requests',
  },
  {
    name: 'a file over the upload quota (declared length)',
    via: 'upload',
    strict: true,
    status: 413,
    send: file(big),
    where: null,
    reason: /upload size/,
    code: 'quota_exceeded',
  },
  {
    name: 'a file over the upload quota (streamed, no length)',
    via: 'upload',
    strict: true,
    chunked: true,
    status: 413,
    send: file(big),
    where: null,
    reason: /too large/i,
    code: 'file_too_large',
  },

  // ---- /v1: a batch from an uploaded file --------------------------------------------------------
  {
    name: 'model missing, no default',
    via: 'v1batch',
    strict: true,
    send: v1('noModel'),
    where: /\bline 2: /,
    reason: /body\.model is missing, and there is no default model/,
    code: 'missing_model',
  },
  {
    name: 'over the items quota',
    via: 'v1batch',
    strict: true,
    send: v1('four'),
    where: /\bline 4: /,
    reason: /more than 3 requests, the tenant's limit \(items per batch\)/,
    code: 'quota_exceeded',
  },
  {
    name: 'mixed models with llmbatch_mode native',
    via: 'v1batch',
    send: v1('mixed', { metadata: { llmbatch_mode: 'native' } }),
    where: /\bline 2: /,
    reason: /a native batch holds one model/,
    code: 'mixed_models',
  },
  {
    name: 'a line whose url is not the endpoint',
    via: 'v1batch',
    send: v1('mismatched'),
    where: /\bLine 2: /,
    reason: /does not match the batch endpoint/,
    code: 'mismatched_url',
  },
  {
    name: 'llmbatch_priority 9',
    via: 'v1batch',
    send: v1('plain', { metadata: { llmbatch_priority: '9' } }),
    where: /metadata\.llmbatch_priority/,
    reason: /"1" \(first\) to "5"/,
  },
  {
    name: 'llmbatch_mode native without a provider Batch API',
    via: 'v1batch',
    strict: true,
    send: v1('plain', { metadata: { llmbatch_mode: 'native' } }),
    where: /metadata\.llmbatch_mode/,
    reason: /native needs a provider Batch API/,
  },
  {
    name: 'an unknown llmbatch_mode',
    via: 'v1batch',
    send: v1('plain', { metadata: { llmbatch_mode: 'fast' } }),
    where: /metadata\.llmbatch_mode/,
    reason: /realtime|native|auto/,
  },
  {
    name: 'a deadline in the past',
    via: 'v1batch',
    send: v1('plain', { metadata: { llmbatch_deadline: past } }),
    where: /metadata\.llmbatch_deadline/,
    reason: /has passed/,
  },
  {
    name: 'an unknown llmbatch_ key',
    via: 'v1batch',
    send: v1('plain', { metadata: { llmbatch_colour: 'x' } }),
    where: /metadata\.llmbatch_colour/,
    reason: /unrecognized key/i,
  },
];

// ---- sending ---------------------------------------------------------------------------------------
/** Streams a body in 16 KiB pieces: chunked, with no content-length, so it is checked as it arrives. */
function pieces(content: string | Buffer): ReadableStream {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  const parts = Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) =>
    bytes.subarray(i * 16_384, (i + 1) * 16_384),
  );
  return Readable.toWeb(Readable.from(parts)) as ReadableStream;
}

async function send(row: Row): Promise<Response> {
  const base = row.strict ? strictBase : stack.base;
  const body = typeof row.send === 'function' ? row.send() : row.send;
  switch (row.via) {
    case 'ndjson':
      return fetch(`${base}/batches${row.query ?? ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: pieces(body as string | Buffer),
        duplex: 'half',
      });
    case 'json':
      return fetch(`${base}/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    case 'upload': {
      const form = new FormData();
      form.append('purpose', 'batch');
      form.append('file', new Blob([body as string | Buffer]), 'input.jsonl');
      if (!row.chunked) return fetch(`${base}/v1/files`, { method: 'POST', body: form });
      const encoded = new Request(base, { method: 'POST', body: form });
      return fetch(`${base}/v1/files`, {
        method: 'POST',
        headers: { 'content-type': encoded.headers.get('content-type') as string },
        body: encoded.body,
        duplex: 'half',
      });
    }
    case 'v1batch':
      return fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
  }
}

// ---- what exists -----------------------------------------------------------------------------------
const batchDirs = async () => (await readdir(join(stack.config.dataDir, 'batches')).catch(() => [] as string[])).sort();
const fileStaging = async () =>
  readdir(join(stack.config.dataDir, 'openai-files', '.staging')).catch(() => [] as string[]);
const fileIds = async () =>
  ((await (await fetch(`${stack.base}/v1/files`)).json()) as { data: Array<{ id: string }> }).data
    .map((f) => f.id)
    .sort();
async function workflowIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of stack.env.client.workflow.list()) ids.push(w.workflowId);
  return ids.sort();
}

async function upload(content: string): Promise<string> {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content]), 'fixture.jsonl');
  const res = await fetch(`${stack.base}/v1/files`, { method: 'POST', body: form });
  if (res.status !== 200) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

const before = { dirs: [] as string[], files: [] as string[], workflows: [] as string[] };

beforeAll(async () => {
  // The strict app: same client, store and data dir (so the same files), its own config.
  const strict: Config = {
    ...stack.config,
    batch: { ...stack.config.batch, defaultModel: undefined },
    native: { ...stack.config.native, enabled: false },
    auth: {
      ...stack.config.auth,
      tenants: stack.config.auth.tenants.map((t) => ({
        ...t,
        quotas: { ...t.quotas, itemsPerBatch: STRICT_ITEMS, uploadBytes: STRICT_UPLOAD_BYTES },
      })),
    },
  };
  strictServer = createApp({ client: stack.env.client, store: stack.store, config: strict }).listen(0, '127.0.0.1');
  await new Promise((r) => strictServer.once('listening', r));
  strictBase = `http://127.0.0.1:${(strictServer.address() as AddressInfo).port}`;

  for (const key of Object.keys(fixtures) as Array<keyof typeof fixtures>)
    fixtures[key] = await upload(fixtureContent[key]);
  Object.assign(before, { dirs: await batchDirs(), files: await fileIds(), workflows: await workflowIds() });
});

afterAll(() => {
  strictServer?.close();
});

describe('malformed input: 400 with its line and reason, and nothing created', () => {
  it('has at least 30 rows, over every way in', () => {
    expect(rows.filter((r) => (r.status ?? 400) === 400).length).toBeGreaterThanOrEqual(30);
    expect(new Set(rows.map((r) => r.via))).toEqual(new Set(['ndjson', 'json', 'upload', 'v1batch']));
    expect(new Set(rows.map((r) => `${r.via}: ${r.name}`)).size).toBe(rows.length);
  });

  it.each(rows.map((r) => ({ ...r, label: `${r.via}${r.strict ? ' (strict)' : ''}: ${r.name}` })))(
    '$label',
    async (row) => {
      // Against the state just before the row, so that a leak is pinned on the row that made it.
      const [dirs, files] = [await batchDirs(), await fileIds()];
      const res = await send(row);
      const text = await res.text();
      let error: { message: string; code?: string | null };
      try {
        error = (JSON.parse(text) as { error: typeof error }).error;
      } catch {
        throw new Error(`not a JSON error (${res.status}): ${text.slice(0, 300)}`);
      }
      expect({ status: res.status, message: error.message }).toEqual({
        status: row.status ?? 400,
        message: expect.stringMatching(row.reason),
      });
      if (row.where) expect(error.message).toMatch(row.where);
      else expect(error.message).not.toMatch(/\bline \d/i);
      if (row.code) expect(error.code).toBe(row.code);
      expect(await batchDirs()).toEqual(dirs);
      expect(await fileStaging()).toEqual([]);
      expect(await fileIds()).toEqual(files);
    },
  );

  it('left no batch, file or workflow behind', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // visibility is eventually consistent
    const [listed, listedV1] = await Promise.all([
      fetch(`${stack.base}/batches?limit=100`),
      fetch(`${stack.base}/v1/batches`),
    ]);
    expect({ status: listed.status, body: await listed.json() }).toEqual({
      status: 200,
      body: { data: [], next_cursor: null },
    });
    expect({ status: listedV1.status, data: ((await listedV1.json()) as { data: unknown[] }).data }).toEqual({
      status: 200,
      data: [],
    });
    expect(await workflowIds()).toEqual(before.workflows);
    expect(await fileIds()).toEqual(before.files);
    expect(await batchDirs()).toEqual(before.dirs);
  });

  it('(control) sees a batch that is created: its directory and its workflow', async () => {
    const res = await send({
      name: 'control',
      via: 'ndjson',
      send: file(good('a'), good('b')),
      where: null,
      reason: /./,
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await batchDirs()).toEqual([...before.dirs, id].sort());
    for (let i = 0; i < 50 && !(await workflowIds()).includes(`batch-${id}`); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await workflowIds()).toEqual([...before.workflows, `batch-${id}`].sort());
  });
});
