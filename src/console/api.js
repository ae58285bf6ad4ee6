// The project API as the console calls it: the same routes, key and error shape as any other client.
const KEY_ITEM = 'llmbatch.apiKey';

/** The key lives in sessionStorage: it goes when the tab closes and is never sent anywhere but this API. */
export const getKey = () => sessionStorage.getItem(KEY_ITEM) ?? '';

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

/** A refusal, carrying the API's own message (`{error: {message, code, details}}`) so the page can show it. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the API answered HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details;
  }
}

async function call(path, init = {}) {
  const headers = new Headers(init.headers);
  const key = getKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  return res;
}

export const getJson = async (path) => (await call(path)).json();

export async function postJson(path, body = {}) {
  const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  return (await call(path, init)).json();
}

/** POST /batches with the file as the NDJSON body, streamed by the browser; the options are query parameters. */
export async function submitFile(file, params) {
  const init = { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: file };
  return (await call(`/batches?${new URLSearchParams(params)}`, init)).json();
}

/**
 * The first `max` lines of an NDJSON answer, parsed; stops reading there, so a preview of a large result
 * file costs 50 lines. `more` says whether there was more to read.
 */
export async function readLines(path, max) {
  const res = await call(path);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const lines = [];
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (value) rest += value;
    const parts = rest.split('\n');
    rest = done ? '' : parts.pop();
    for (const part of parts) {
      if (!part.trim()) continue;
      if (lines.length === max) {
        await reader.cancel();
        return { lines, more: true };
      }
      lines.push(JSON.parse(part));
    }
    if (done) return { lines, more: false };
  }
}

/** Saves an answer as a file: a plain link could not send the key, so the body is fetched and handed over. */
export async function download(path, filename) {
  const blob = await (await call(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
