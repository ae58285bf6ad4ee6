/**
 * `llmbatch submit --pipeline` and `--schema` as a user runs them (a real process) against a real API stack:
 * a YAML pipeline (headline → intro, the intro written from the headline's structured title) and a JSONL file
 * with a JSON Schema, both watched to the end, with repairs, invalid outputs and per-step counts on the last line;
 * the simulator shows the bodies it was sent. The API's 400 is printed as it is.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INVALID_OUTPUT_MARKER } from '../../src/provider';
import type { BatchOutputLine } from '../../src/shared/contracts';
import type { Pipeline, PipelineItem } from '../../src/shared/pipelines';
import { answerText, withOutputSchema } from '../../src/shared/structuredOutput';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';
import { stepBody } from '../helpers/pipelines';
import { fileIn, jsonl, runCli } from './cliRun';

jest.setTimeout(180_000);

const stack = useApiStack();
const llmbatch = (args: string[]) => runCli(args, stack.base);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmbatch-cli-structured-'));
});

/** The README's headline → intro; the headline names no model (the CLI's --model gives it one). */
const PIPELINE_YAML = `# a headline, then an intro written from it
steps:
  - name: headline
    body:
      messages:
        - role: user
          content: "Write a headline about {{item.topic}}."
    outputSchema:
      type: object
      properties:
        title: { type: string, minLength: 3 }
      required: [title]
      additionalProperties: false
  - name: intro
    model: gpt-4o-mini
    body:
      messages:
        - role: user
          content: 'Write a two-sentence intro for the article "{{steps.headline.json.title}}".'
`;

/** The same pipeline as the API runs it, the headline's model filled in as --model gpt-4.1-mini does. */
const SENT: Pipeline = {
  steps: [
    {
      name: 'headline',
      endpoint: '/v1/chat/completions',
      model: 'gpt-4.1-mini',
      body: { messages: [{ role: 'user', content: 'Write a headline about {{item.topic}}.' }] },
      outputSchema: {
        type: 'object',
        properties: { title: { type: 'string', minLength: 3 } },
        required: ['title'],
        additionalProperties: false,
      },
    },
    {
      name: 'intro',
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      body: {
        messages: [
          { role: 'user', content: 'Write a two-sentence intro for the article "{{steps.headline.json.title}}".' },
        ],
      },
    },
  ],
};

/** The body step `index` was sent for `item`: rendered from the answers the result line records before it. */
const sentBody = (index: number, item: PipelineItem, line: BatchOutputLine): unknown =>
  stepBody(SENT, index, item, line);

async function resultsOf(id: string): Promise<Map<string, BatchOutputLine>> {
  const out = join(dir, `${id}.jsonl`);
  expect((await llmbatch(['results', id, '--out', out])).code).toBe(0);
  const lines = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as BatchOutputLine);
  return new Map(lines.map((l) => [l.custom_id, l]));
}

const idOf = (stdout: string): string => /^batch (\S+): /m.exec(stdout)?.[1] as string;
const lastLine = (stdout: string): string => stdout.trim().split('\n').at(-1) as string;

test('submit --pipeline: a YAML pipeline runs to the end; each intro is asked from its own headline', async () => {
  const pipelineFile = await fileIn(dir, 'pipeline.yaml', PIPELINE_YAML);
  const items: PipelineItem[] = Array.from({ length: 6 }, (_, i) => ({ custom_id: `a${i}`, topic: `topic "${i}"` }));
  const bad = { custom_id: 'bad', topic: `never valid ${INVALID_OUTPUT_MARKER}` };
  // A blank line in the middle is skipped.
  const itemsText = `${jsonl(items.slice(0, 3))}\n${jsonl([...items.slice(3), bad])}`;
  const itemsFile = await fileIn(dir, 'items.jsonl', itemsText);

  const run = await llmbatch([
    'submit',
    '--pipeline',
    pipelineFile,
    itemsFile,
    '--model',
    'gpt-4.1-mini',
    '--priority',
    '2',
    '--repair-attempts',
    '1',
    '--wait',
  ]);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(run.stdout).toMatch(/^batch \S+: 7 items, steps headline → intro, realtime \(.*pipelines run in realtime/m);
  // The bad item's headline is repaired once, stays invalid and stops the item there.
  expect(lastLine(run.stdout)).toMatch(
    /\] 7\/7 \(6 ok, 1 failed\) completed, repaired 1, invalid 1, steps headline 6\/1 intro 6\/0$/,
  );
  const id = idOf(run.stdout);
  const status = JSON.parse((await llmbatch(['status', id])).stdout) as { priority: number };
  expect(status.priority).toBe(2);

  const lines = await resultsOf(id);
  expect(lines.size).toBe(7);
  for (const item of items) {
    const line = lines.get(item.custom_id)!;
    expect(Object.keys(line.steps ?? {})).toEqual(['headline', 'intro']);
    const title = (JSON.parse(answerText('/v1/chat/completions', line.steps?.headline?.body)!) as { title: string })
      .title;
    expect(title.length).toBeGreaterThanOrEqual(3);
    for (const index of [0, 1]) expect(stack.sim.callsForBody(sentBody(index, item, line)).successes).toBe(1);
  }
  expect(lines.get('bad')?.error).toMatchObject({
    code: 'invalid_output',
    message: expect.stringMatching(/^step headline: /),
  });
});

test('submit --schema: answers follow the schema (output_schema); one is repaired, then a dead letter', async () => {
  const schema = {
    type: 'object',
    properties: {
      sentiment: { enum: ['positive', 'negative', 'neutral'] },
      score: { type: 'integer', minimum: 1, maximum: 5 },
    },
    required: ['sentiment', 'score'],
    additionalProperties: false,
  };
  const schemaFile = await fileIn(dir, 'schema.json', JSON.stringify(schema, null, 2));
  const reviews = chatLines(8, 'review');
  const bad = {
    ...reviews[0]!,
    custom_id: 'bad',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${INVALID_OUTPUT_MARKER} review` }] },
  };
  const file = await fileIn(dir, 'reviews.jsonl', jsonl([...reviews, bad]));

  const run = await llmbatch(['submit', file, '--schema', schemaFile, '--repair-attempts', '1', '--wait']);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  expect(lastLine(run.stdout)).toMatch(/\] 9\/9 \(8 ok, 1 failed\) completed, repaired 1, invalid 1$/);

  const lines = await resultsOf(idOf(run.stdout));
  for (const review of reviews) {
    const line = lines.get(review.custom_id)!;
    const answer = JSON.parse(answerText(review.url, line.response?.body)!) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['score', 'sentiment']);
    expect(['positive', 'negative', 'neutral']).toContain(answer.sentiment);
    // Asked once, with the file's schema as the line's response_format.
    expect(stack.sim.callsForBody(withOutputSchema(review.url, review.body, schema)).successes).toBe(1);
  }
  expect(lines.get('bad')?.error?.code).toBe('invalid_output');
});

test("the API's 400 is printed as it is, naming the step and the reference; exit 1", async () => {
  const pipelineFile = await fileIn(
    dir,
    'forward.yaml',
    PIPELINE_YAML.replace('{{steps.headline.json.title}}', '{{steps.nope.text}}'),
  );
  const itemsFile = await fileIn(dir, 'few.jsonl', jsonl([{ custom_id: 'x', topic: 't' }]));
  const before = (await llmbatch(['list'])).stdout;
  const run = await llmbatch(['submit', '--pipeline', pipelineFile, itemsFile, '--model', 'gpt-4o-mini']);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /POST \/pipelines: 400 invalid pipeline: step intro, \{\{steps\.nope\.text\}\}: no step named nope/,
  );
  // A schema that does not compile: the API names the step and the option.
  const badSchema = await fileIn(dir, 'badschema.yaml', PIPELINE_YAML.replace('type: object', 'type: objekt'));
  const refused = await llmbatch(['submit', '--pipeline', badSchema, itemsFile, '--model', 'gpt-4o-mini']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/400 invalid pipeline: steps\.0 \(headline\): outputSchema: not a valid JSON Schema/);
  expect((await llmbatch(['list'])).stdout).toBe(before);
});
