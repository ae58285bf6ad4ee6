/**
 * Checks batch input files as they stream in: each line must be an OpenAI batch request line
 * (`BatchLineSchema`), custom_ids unique, lines at most `maxLineBytes` and UTF-8. Memory stays bounded:
 * the current line, plus one short key per custom_id seen. Both APIs use it: /v1 uploads and the
 * project API's NDJSON bodies.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BatchLineSchema, LIMITS, SUPPORTED_URLS, type BatchLine } from '../shared/contracts';

export interface LineProblem {
  /** 1-based; null for a problem of the whole file. */
  line: number | null;
  code: string;
  reason: string;
}

export const describeProblem = (p: LineProblem): string => (p.line === null ? p.reason : `Line ${p.line}: ${p.reason}`);

type Checked = { ok: true; line: BatchLine } | { ok: false; code: string; reason: string };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : (JSON.stringify(v) ?? typeof v).slice(0, 100));

/** One line's JSON text as a batch request line, or why it is not one (duplicates are the caller's). */
export function checkLine(text: string): Checked {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'invalid_json_line', reason: `invalid JSON (${(err as Error).message})` };
  }
  if (!isPlainObject(value)) return { ok: false, code: 'invalid_json_line', reason: 'a line must be a JSON object' };
  const { custom_id: customId, method, url, body } = value;
  if (customId === undefined || customId === null)
    return { ok: false, code: 'missing_custom_id', reason: 'missing custom_id' };
  if (typeof customId !== 'string')
    return { ok: false, code: 'invalid_custom_id', reason: `custom_id must be a string, got ${show(customId)}` };
  if (customId === '') return { ok: false, code: 'invalid_custom_id', reason: 'custom_id is empty' };
  if (customId.length > LIMITS.customIdMaxLength)
    return {
      ok: false,
      code: 'invalid_custom_id',
      reason: `custom_id is longer than ${LIMITS.customIdMaxLength} characters`,
    };
  if (method !== 'POST')
    return { ok: false, code: 'invalid_method', reason: `method must be "POST", got ${show(method)}` };
  if (!(SUPPORTED_URLS as readonly unknown[]).includes(url)) {
    return {
      ok: false,
      code: 'unsupported_url',
      reason: `unsupported url ${show(url)}: expected one of ${SUPPORTED_URLS.join(', ')}`,
    };
  }
  if (!isPlainObject(body))
    return { ok: false, code: 'invalid_body', reason: `body must be a JSON object, got ${show(body)}` };
  const parsed = BatchLineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      code: 'invalid_line',
      reason: `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, line: parsed.data };
}

/** custom_ids seen so far, by line; long ids are kept as their SHA-256, so each costs a bounded key. */
class CustomIds {
  private readonly short = new Map<string, number>();
  private readonly hashed = new Map<string, number>();

  /** The line this id was first seen on, or undefined (and it is recorded on `line`). */
  firstSeen(id: string, line: number): number | undefined {
    const [map, key] =
      id.length <= 44 ? [this.short, id] : [this.hashed, createHash('sha256').update(id).digest('base64')];
    const earlier = map.get(key);
    if (earlier === undefined) map.set(key, line);
    return earlier;
  }
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A line's own bytes: without the CR of a CRLF, and on line 1 without a UTF-8 byte order mark. */
function lineBytes(raw: Buffer, lineNumber: number): Buffer {
  const bytes = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, -1) : raw;
  return lineNumber === 1 && bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/**
 * Feed it the file's bytes with `push`, then `end`; each returns the first problem, after which the
 * validator ignores the rest. Blank lines are skipped (they still count in line numbers); CRLF is fine.
 */
export class BatchFileValidator {
  /** Requests (non-blank lines) accepted so far. */
  requests = 0;
  problem: LineProblem | undefined;
  private lineNumber = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private readonly ids = new CustomIds();

  constructor(
    private readonly limits: { maxLineBytes: number; maxLines: number } = {
      maxLineBytes: LIMITS.maxLineBytes,
      maxLines: LIMITS.maxItemsPerBatch,
    },
    /** Called with each accepted request and its line number (for callers that keep the parsed lines). */
    private readonly onLine?: (request: BatchLine, line: number) => void,
  ) {}

  push(chunk: Buffer): LineProblem | undefined {
    let start = 0;
    while (!this.problem) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) {
        if (start < chunk.length) this.parts.push(chunk.subarray(start));
        this.partBytes += chunk.length - start;
        // +1: the line may still end in a CR that is not part of it.
        if (this.partBytes > this.limits.maxLineBytes + 1)
          this.fail(this.lineNumber + 1, 'line_too_long', this.tooLong());
        break;
      }
      const piece = chunk.subarray(start, nl);
      const line = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.partBytes = 0;
      this.checkBytes(line);
      start = nl + 1;
    }
    return this.problem;
  }

  end(): LineProblem | undefined {
    if (!this.problem && this.partBytes > 0) this.checkBytes(Buffer.concat(this.parts));
    this.parts = [];
    if (!this.problem && this.requests === 0)
      this.problem = { line: null, code: 'empty_file', reason: 'the file contains no requests' };
    return this.problem;
  }

  private tooLong(): string {
    return `longer than ${this.limits.maxLineBytes} bytes`;
  }

  private fail(line: number, code: string, reason: string): void {
    this.problem = { line, code, reason };
    this.parts = [];
  }

  private checkBytes(raw: Buffer): void {
    this.lineNumber += 1;
    const bytes = lineBytes(raw, this.lineNumber);
    if (bytes.length > this.limits.maxLineBytes) return this.fail(this.lineNumber, 'line_too_long', this.tooLong());
    if (!isUtf8(bytes)) return this.fail(this.lineNumber, 'invalid_utf8', 'not valid UTF-8');
    const text = bytes.toString('utf8');
    if (text.trim() === '') return;
    const checked = checkLine(text);
    if (!checked.ok) return this.fail(this.lineNumber, checked.code, checked.reason);
    const earlier = this.ids.firstSeen(checked.line.custom_id, this.lineNumber);
    if (earlier !== undefined) {
      return this.fail(
        this.lineNumber,
        'duplicate_custom_id',
        `duplicate custom_id ${show(checked.line.custom_id)} (first on line ${earlier})`,
      );
    }
    this.requests += 1;
    if (this.requests > this.limits.maxLines)
      return this.fail(this.lineNumber, 'too_many_requests', `more than ${this.limits.maxLines} requests in one file`);
    this.onLine?.(checked.line, this.lineNumber);
  }
}

/**
 * The non-blank lines of a stored file, split exactly as the validator splits them (on LF only; a
 * trailing CR and a leading byte order mark dropped), with their 1-based numbers.
 */
export async function* splitLines(content: AsyncIterable<Buffer>): AsyncIterable<{ line: number; text: string }> {
  let parts: Buffer[] = [];
  let line = 0;
  const emit = (raw: Buffer): { line: number; text: string } | undefined => {
    line += 1;
    const text = lineBytes(raw, line).toString('utf8');
    return text.trim() === '' ? undefined : { line, text };
  };
  for await (const chunk of content) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      const out = emit(parts.length === 0 ? piece : Buffer.concat([...parts, piece]));
      parts = [];
      start = nl + 1;
      if (out) yield out;
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  }
  if (parts.length > 0) {
    const out = emit(Buffer.concat(parts));
    if (out) yield out;
  }
}
