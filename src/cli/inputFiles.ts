/**
 * The files `llmbatch submit` reads itself, before anything is sent: a pipeline (YAML or JSON), its items (JSONL)
 * and a JSON Schema for `--schema`. Each error names the file and, where there is one, the line; what the files
 * mean (templates, references, schemas that compile) is the API's to check, and its 400 says which step or item.
 */
import { readFile } from 'node:fs/promises';
import { parse, YAMLParseError } from 'yaml';

/** A file the CLI cannot use, with the file (and line) named in the message. */
export class InputFileError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const STEPS_HELP = 'a list of {name, endpoint?, model?, body, outputSchema?, repairAttempts?}';

async function readText(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputFileError(`${file}: cannot read it (${e.code === 'ENOENT' ? 'no such file' : e.message})`);
  }
}

/** The parser's error as `file line L, column C: reason`, then the parser's excerpt of the text. */
function yamlError(file: string, err: YAMLParseError): InputFileError {
  const at = err.linePos?.[0];
  const [first = '', ...excerpt] = err.message.split('\n');
  const reason = first.replace(/ at line \d+, column \d+:?$/, '');
  const where = at ? ` line ${at.line}, column ${at.col}` : '';
  const shown = excerpt.join('\n').replace(/\n+$/, '');
  return new InputFileError(`${file}${where}: ${reason}${shown ? `\n${shown}` : ''}`);
}

/**
 * The steps of a pipeline file (YAML, or JSON, which YAML reads too): an object holding `steps:` and nothing else.
 * With `model`, a step that names none (neither `model` nor `body.model`) gets it as its `model`.
 */
export async function readPipelineFile(file: string, model?: string): Promise<unknown[]> {
  const text = await readText(file);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof YAMLParseError) throw yamlError(file, err);
    throw new InputFileError(`${file}: ${(err as Error).message}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.steps))
    throw new InputFileError(`${file}: no steps list: a pipeline file holds steps:, ${STEPS_HELP}`);
  const unknown = Object.keys(doc).filter((k) => k !== 'steps');
  if (unknown.length > 0)
    throw new InputFileError(`${file}: unknown key ${unknown.join(', ')}: a pipeline file holds only steps:`);
  return doc.steps.map((step: unknown) => {
    if (model === undefined || !isObject(step) || step.model !== undefined) return step;
    if (isObject(step.body) && step.body.model !== undefined) return step;
    return { ...step, model };
  });
}

/** The items of a JSONL file: one JSON object with a string custom_id per line; blank lines are skipped. */
export async function readItemsFile(file: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  (await readText(file)).split('\n').forEach((raw, index) => {
    const text = raw.trim();
    if (text === '') return;
    const at = `${file} line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputFileError(`${at}: not JSON: ${(err as Error).message}`);
    }
    if (!isObject(value)) throw new InputFileError(`${at}: not a JSON object (each line is an item with a custom_id)`);
    if (typeof value.custom_id !== 'string' || value.custom_id === '')
      throw new InputFileError(`${at}: no custom_id (each item needs a non-empty string custom_id)`);
    items.push(value);
  });
  if (items.length === 0) throw new InputFileError(`${file}: no items (one JSON object with a custom_id per line)`);
  return items;
}

/** A JSON Schema file's content as compact JSON, for the `output_schema` query parameter. */
export async function readSchemaFile(file: string): Promise<string> {
  const text = await readText(file);
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    // Node 20 says only `at position N`: the line and column are added, as later versions do.
    const message = (err as Error).message;
    const position = /at position (\d+)$/.exec(message)?.[1];
    const before = position === undefined ? undefined : text.slice(0, Number(position)).split('\n');
    const where = before ? ` line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}` : '';
    throw new InputFileError(`${file}${where}: not JSON: ${message}`);
  }
  if (!isObject(schema)) throw new InputFileError(`${file}: not a JSON Schema (expected a JSON object)`);
  return JSON.stringify(schema);
}
