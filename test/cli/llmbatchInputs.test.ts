/**
 * The files `llmbatch submit` reads itself (pipeline, items, schema): each error is the CLI's own, before any
 * request (nothing listens at LLMBATCH_URL here), names the file and line, and exits 1; a misused flag prints
 * the usage and exits 2. Also: --model filling in the steps that name none, and the progress line's details.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressDetails } from '../../src/cli/apiClient';
import { readPipelineFile } from '../../src/cli/inputFiles';
import type { BatchProgress } from '../../src/shared/contracts';
import { freePort } from '../durability/harness';
import { fileIn, jsonl, runCli } from './cliRun';

jest.setTimeout(60_000);

let dir: string;
let nowhere: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmbatch-cli-inputs-'));
  nowhere = `http://127.0.0.1:${await freePort()}`;
});

const PIPELINE = 'steps:\n  - name: a\n    body: {messages: [{role: user, content: "{{item.t}}"}]}\n';
const ITEMS = jsonl([{ custom_id: 'x', t: 'y' }]);

/** Runs `submit --pipeline` with these file contents; the run. */
async function submitPipeline(pipeline: string, items = ITEMS, name = 'p.yaml') {
  const pipelineFile = await fileIn(dir, name, pipeline);
  const itemsFile = await fileIn(dir, 'items.jsonl', items);
  return { run: await runCli(['submit', '--pipeline', pipelineFile, itemsFile], nowhere), pipelineFile, itemsFile };
}

const expectError = (run: { code: number; stderr: string; stdout: string }, message: RegExp | string): void => {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/fetch failed|ECONNREFUSED/);
};

describe('pipeline files', () => {
  test('a YAML parse error names the file, the line and column, and shows where', async () => {
    const bad = 'steps:\n  - name: a\n    body:\n      messages: [{role: user, content: hi}\n  - name: b\n';
    const { run, pipelineFile } = await submitPipeline(bad);
    expectError(run, `llmbatch: ${pipelineFile} line 5, column 3: Flow sequence in block collection`);
    expect(run.stderr).toContain('  - name: b\n  ^');
  });

  test('a JSON pipeline file is read too, and its syntax error names the line', async () => {
    const { run, pipelineFile } = await submitPipeline(
      '{"steps": [\n  {"name": "a",\n  "body": {}\n]}\n',
      ITEMS,
      'p.json',
    );
    expectError(run, new RegExp(`llmbatch: ${pipelineFile} line 4, column 1: `));
  });

  test.each([
    ['no steps', 'name: a\n'],
    ['steps not a list', 'steps: {a: 1}\n'],
    ['an empty file', ''],
    ['a list at the top', '- name: a\n'],
  ])('%s: no steps list', async (_, text) => {
    const { run, pipelineFile } = await submitPipeline(text);
    expectError(run, `llmbatch: ${pipelineFile}: no steps list: a pipeline file holds steps:, a list of {name,`);
  });

  test('a key beside steps is refused by name', async () => {
    const { run, pipelineFile } = await submitPipeline(`${PIPELINE}items: []\n`);
    expectError(run, `llmbatch: ${pipelineFile}: unknown key items: a pipeline file holds only steps:`);
  });

  test('a missing file says so', async () => {
    const run = await runCli(['submit', '--pipeline', join(dir, 'none.yaml'), join(dir, 'items.jsonl')], nowhere);
    expectError(run, `llmbatch: ${join(dir, 'none.yaml')}: cannot read it (no such file)`);
  });

  test('--model is the model of the steps that name none (neither model nor body.model)', async () => {
    const file = await fileIn(
      dir,
      'models.yaml',
      'steps:\n  - {name: a, body: {}}\n  - {name: b, model: m1, body: {}}\n  - {name: c, body: {model: m2}}\n',
    );
    expect(await readPipelineFile(file, 'dflt')).toEqual([
      { name: 'a', body: {}, model: 'dflt' },
      { name: 'b', model: 'm1', body: {} },
      { name: 'c', body: { model: 'm2' } },
    ]);
    expect(await readPipelineFile(file)).toEqual([
      { name: 'a', body: {} },
      { name: 'b', model: 'm1', body: {} },
      { name: 'c', body: { model: 'm2' } },
    ]);
  });
});

describe('items files', () => {
  test.each([
    ['not an object', '[1, 2]', 'not a JSON object (each line is an item with a custom_id)'],
    ['not JSON', '{"custom_id": "c", ', 'not JSON: '],
    ['no custom_id', '{"topic": "t"}', 'no custom_id (each item needs a non-empty string custom_id)'],
  ])('line 3 %s: the file and line are named', async (_, line, message) => {
    // Line 2 is blank: lines are counted in the file, blank ones included.
    const { run, itemsFile } = await submitPipeline(PIPELINE, `${jsonl([{ custom_id: 'a' }])}\n${line}\n`);
    expectError(run, `llmbatch: ${itemsFile} line 3: ${message}`);
  });

  test('a file of blank lines has no items', async () => {
    const { run, itemsFile } = await submitPipeline(PIPELINE, '\n\n');
    expectError(run, `llmbatch: ${itemsFile}: no items`);
  });
});

describe('--schema files', () => {
  test('a schema file that is not JSON is named, with the line', async () => {
    const schema = await fileIn(dir, 'schema.json', '{\n  "type": "object",\n  "required": ["a"],\n}\n');
    const file = await fileIn(dir, 'reviews.jsonl', '{}\n');
    const run = await runCli(['submit', file, '--schema', schema], nowhere);
    expectError(run, new RegExp(`llmbatch: ${schema} line 4, column 1: not JSON: `));
  });

  test('a schema that is not an object is refused', async () => {
    const schema = await fileIn(dir, 'list.json', '["type", "object"]');
    const run = await runCli(['submit', await fileIn(dir, 'r.jsonl', '{}\n'), '--schema', schema], nowhere);
    expectError(run, `llmbatch: ${schema}: not a JSON Schema (expected a JSON object)`);
  });
});

describe('flags', () => {
  test.each([
    [['--repair-attempts', 'two'], '--repair-attempts: expected a whole number, got two'],
    [['--lane', 'fast'], 'submit --pipeline: --lane does not apply to a pipeline'],
    [['--schema', 's.json'], 'submit --pipeline: --schema does not apply to a pipeline'],
  ])('%j: the usage, exit 2', async (flags, message) => {
    const run = await runCli(['submit', '--pipeline', 'p.yaml', 'items.jsonl', ...flags], nowhere);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`llmbatch: ${message}`);
    expect(run.stderr).toContain('submit --pipeline <pipeline.yaml> <items.jsonl>');
  });

  test('--pipeline without the items file', async () => {
    const run = await runCli(['submit', '--pipeline', 'p.yaml'], nowhere);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('submit --pipeline: give the pipeline file, then the JSONL file of items');
  });
});

test('the progress line adds repairs, invalid outputs and per-step counts only when there are some', () => {
  const p = { repaired: 0, invalidOutput: 0 } as BatchProgress;
  expect(progressDetails(p)).toBe('');
  expect(progressDetails({ ...p, repaired: 3 })).toBe(', repaired 3');
  expect(
    progressDetails({
      ...p,
      repaired: 3,
      invalidOutput: 1,
      steps: { headline: { succeeded: 40, failed: 0 }, intro: { succeeded: 38, failed: 2 } },
    }),
  ).toBe(', repaired 3, invalid 1, steps headline 40/0 intro 38/2');
});
