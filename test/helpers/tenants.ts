/**
 * For tests of tenants and API keys: HTTP calls with a chosen Authorization header (or none), routes of
 * the OpenAPI table filled with ids, and a workflow's history as text that can be searched for secrets.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { RouteDoc } from '../../src/api/openapi';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are asserted on, field by field
export type Json = any;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body; undefined when it is not JSON. */
  body: Json;
}

export interface CallOptions {
  /** The Authorization header exactly as sent; undefined: none. */
  authorization?: string;
  /** A JSON body (sent with content-type application/json). */
  json?: unknown;
  /** Any other body (FormData, a string, a stream) with its headers. */
  body?: RequestInit['body'];
  headers?: Record<string, string>;
}

export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const init: RequestInit & { duplex?: 'half' } = { method: method.toUpperCase(), headers, body };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

export const routeKey = (route: Pick<RouteDoc, 'method' | 'path'>): string =>
  `${route.method.toUpperCase()} ${route.path}`;

/** `{batch_id}` → batch_id, in order. */
export const pathParams = (path: string): string[] => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);

/** The path with every `{param}` replaced by `value`. */
export const fillPath = (path: string, value: string): string => path.replace(/\{\w+\}/g, encodeURIComponent(value));

/** An id of the same shape that names nothing: its 24 hex digits replaced. */
export function ghostOf(id: string): string {
  if (!/[0-9a-f]{24}/.test(id)) throw new Error(`no 24 hex digits in ${id}`);
  return id.replace(/[0-9a-f]{24}/, randomBytes(12).toString('hex'));
}

/** A multipart upload as the official client sends it. */
export function uploadForm(content: string, filename = 'input.jsonl'): FormData {
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([content]), filename);
  return form;
}

export const jsonl = (lines: unknown[]): string => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

export async function until<T>(
  read: () => Promise<T>,
  done: (t: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface HistoryText {
  /** The decoded first argument of the workflow (its input). */
  input: Json;
  /** Every string in the history and every byte array (payloads, memo) decoded as UTF-8, and the history's JSON. */
  text: string;
  events: NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>;
}

export async function historyText(client: Client, workflowId: string): Promise<HistoryText> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const parts: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (v !== null && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
    }
  };
  walk(events);
  parts.push(JSON.stringify(history));
  const payload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`${workflowId}: the first event has no input`);
  return { input: defaultPayloadConverter.fromPayload(payload), text: parts.join('\n'), events };
}
