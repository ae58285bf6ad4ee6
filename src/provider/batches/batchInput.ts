import { createReadStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import type { BatchError } from '../openaiObjects';

/** Enough to show what is wrong without building a huge batch object. */
const MAX_LISTED_ERRORS = 1000;

export interface InputLine {
  lineNumber: number;
  customId: string;
  body: unknown;
}

export interface ValidationResult {
  total: number;
  errors: BatchError[];
  /** `model` of the first request, reported on the batch object. */
  model: string | null;
}

/**
 * Reads a JSONL input file line by line (never whole: it may be 200 MB).
 * Blank lines are skipped, so a trailing newline is harmless.
 */
export class BatchLineReader {
  private readonly lines: Interface;
  private readonly iterator: AsyncIterator<string>;
  private lineNumber = 0;

  constructor(path: string) {
    this.lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    this.iterator = this.lines[Symbol.asyncIterator]();
  }

  /** Next non-blank raw line with its 1-based number, or undefined at the end. */
  async nextRaw(): Promise<{ lineNumber: number; text: string } | undefined> {
    for (;;) {
      const step = await this.iterator.next();
      if (step.done === true) return undefined;
      this.lineNumber += 1;
      if (step.value.trim() !== '') return { lineNumber: this.lineNumber, text: step.value };
    }
  }

  /** Next request of an already validated file. */
  async next(): Promise<InputLine | undefined> {
    const raw = await this.nextRaw();
    if (raw === undefined) return undefined;
    const parsed = JSON.parse(raw.text) as { custom_id: string; body: unknown };
    return { lineNumber: raw.lineNumber, customId: parsed.custom_id, body: parsed.body };
  }

  close(): void {
    this.lines.close();
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The first thing wrong with one line, if anything. */
function lineProblem(text: string, endpoint: string, seen: Set<string>): Omit<BatchError, 'line'> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null };
  }
  if (!isPlainObject(parsed)) {
    return { code: 'invalid_json_line', message: 'Each line must be a JSON object.', param: null };
  }
  const customId = parsed.custom_id;
  if (typeof customId !== 'string' || customId === '') {
    return {
      code: 'missing_required_parameter',
      message: "Missing required parameter: 'custom_id'.",
      param: 'custom_id',
    };
  }
  if (seen.has(customId)) {
    return {
      code: 'duplicate_custom_id',
      message: `The custom_id '${customId}' is used more than once; custom_id values must be unique within a batch.`,
      param: 'custom_id',
    };
  }
  seen.add(customId);
  if (parsed.method !== 'POST') {
    return {
      code: 'invalid_method',
      message: `Invalid 'method': only POST is supported, got ${JSON.stringify(parsed.method)}.`,
      param: 'method',
    };
  }
  if (parsed.url !== endpoint) {
    return {
      code: 'mismatched_url',
      message: `The url ${JSON.stringify(parsed.url)} does not match the batch endpoint '${endpoint}'.`,
      param: 'url',
    };
  }
  if (!isPlainObject(parsed.body)) {
    return { code: 'invalid_body', message: "Invalid 'body': expected a JSON object.", param: 'body' };
  }
  return undefined;
}

/** Whole-file checks done in `validating`: any error fails the batch. */
export async function validateBatchInput(path: string, endpoint: string, maxLines: number): Promise<ValidationResult> {
  const reader = new BatchLineReader(path);
  const seen = new Set<string>();
  const errors: BatchError[] = [];
  let total = 0;
  let model: string | null = null;
  try {
    for (let raw = await reader.nextRaw(); raw !== undefined; raw = await reader.nextRaw()) {
      total += 1;
      const problem = lineProblem(raw.text, endpoint, seen);
      if (problem !== undefined) {
        if (errors.length < MAX_LISTED_ERRORS) errors.push({ ...problem, line: raw.lineNumber });
      } else if (model === null) {
        const body = (JSON.parse(raw.text) as { body: Record<string, unknown> }).body;
        if (typeof body.model === 'string') model = body.model;
      }
    }
  } finally {
    reader.close();
  }
  if (total === 0) {
    errors.push({ code: 'empty_file', message: 'The input file contains no requests.', param: null, line: null });
  }
  if (total > maxLines) {
    errors.unshift({
      code: 'too_many_requests',
      message: `The input file has ${total} requests; a batch may contain at most ${maxLines}.`,
      param: null,
      line: null,
    });
  }
  return { total, errors, model };
}
