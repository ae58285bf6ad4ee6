import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type OpenAI from 'openai';
import { INVALID_OUTPUT_MARKER, startSimulator, type Simulator } from '../../src/provider';
import { envOf, flagOf, parseCli } from '../../src/provider/cliOptions';
import { generateAnswer } from '../../src/provider/content/answer';
import { sha256 } from '../../src/provider/canonical';
import { clientFor, readJsonl, uploadJsonl, waitForBatch } from './helpers';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

let sim: Simulator;
let client: OpenAI;
beforeAll(async () => {
  sim = await startSimulator();
  client = clientFor(sim);
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.configure({ invalidOutputRate: 0 });
  sim.resetStats();
});

type Message = OpenAI.ChatCompletionMessageParam;

const REVIEW_SCHEMA = {
  type: 'object',
  properties: {
    sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
    score: { type: 'number', minimum: 0, maximum: 1 },
    summary: { type: 'string', maxLength: 40 },
  },
  required: ['sentiment', 'score', 'summary'],
  additionalProperties: false,
};

const chatParams = (
  messages: Message[],
  schema: object = REVIEW_SCHEMA,
): OpenAI.ChatCompletionCreateParamsNonStreaming => ({
  model: 'gpt-4o-mini',
  messages,
  response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: schema as Record<string, unknown> } },
});

async function askChat(messages: Message[], schema: object = REVIEW_SCHEMA): Promise<string> {
  const completion = await client.chat.completions.create(chatParams(messages, schema));
  return completion.choices[0]!.message.content!;
}

/** 'valid', 'not-json' or 'schema' (JSON that fails the schema). */
function verdict(text: string, schema: object): 'valid' | 'not-json' | 'schema' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not-json';
  }
  return ajv.validate(schema, value) ? 'valid' : 'schema';
}

const SCHEMAS: [string, object][] = [
  ['review (enum, bounds, maxLength)', REVIEW_SCHEMA],
  [
    'integers with exclusive bounds, type arrays, const',
    {
      type: 'object',
      properties: {
        count: { type: 'integer', exclusiveMinimum: 10, exclusiveMaximum: 13 },
        ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.01 },
        negative: { type: 'integer', maximum: -5 },
        maybe: { type: ['string', 'null'], minLength: 30 },
        kind: { const: 'fixed' },
        flag: { type: 'boolean' },
      },
      required: ['count', 'ratio', 'negative', 'maybe', 'kind', 'flag'],
      additionalProperties: false,
    },
  ],
  [
    'arrays with item bounds, uniqueness and nested objects',
    {
      type: 'object',
      properties: {
        tags: { type: 'array', items: { type: 'string', minLength: 3, maxLength: 5 }, minItems: 4, maxItems: 6 },
        picks: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 2, maxItems: 3, uniqueItems: true },
        none: { type: 'array', items: { type: 'number' }, maxItems: 0 },
        people: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 18, maximum: 99 } },
            required: ['name', 'age'],
            additionalProperties: false,
          },
        },
      },
      required: ['tags', 'picks', 'none', 'people'],
      additionalProperties: false,
    },
  ],
  [
    'formats',
    {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time' },
        day: { type: 'string', format: 'date' },
        email: { type: 'string', format: 'email' },
        site: { type: 'string', format: 'uri' },
        id: { type: 'string', format: 'uuid' },
        time: { type: 'string', format: 'time' },
        host: { type: 'string', format: 'hostname' },
        ip: { type: 'string', format: 'ipv4' },
      },
      required: ['at', 'day', 'email', 'site', 'id', 'time', 'host', 'ip'],
      additionalProperties: false,
    },
  ],
  [
    '$defs, definitions, anyOf, oneOf, allOf and a recursive $ref',
    {
      type: 'object',
      $defs: {
        address: {
          type: 'object',
          properties: { city: { type: 'string' }, zip: { type: 'string', minLength: 5, maxLength: 5 } },
          required: ['city', 'zip'],
          additionalProperties: false,
        },
        node: {
          type: 'object',
          properties: { value: { type: 'integer' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['value', 'children'],
          additionalProperties: false,
        },
      },
      definitions: { level: { type: 'string', enum: ['low', 'high'] } },
      properties: {
        home: { $ref: '#/$defs/address' },
        level: { $ref: '#/definitions/level' },
        note: { anyOf: [{ type: 'string', maxLength: 10 }, { type: 'null' }] },
        amount: {
          oneOf: [
            { type: 'integer', minimum: 100 },
            { type: 'string', format: 'email' },
          ],
        },
        both: {
          allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { required: ['b'] }],
        },
        tree: { $ref: '#/$defs/node' },
      },
      required: ['home', 'level', 'note', 'amount', 'both', 'tree'],
      additionalProperties: false,
    },
  ],
];

describe('structured answers follow the schema', () => {
  it.each(SCHEMAS)('%s: every answer validates with ajv 2020-12', async (_name, schema) => {
    for (let i = 0; i < 15; i++) {
      const text = await askChat([{ role: 'user', content: `Fill in the form, variant ${i}.` }], schema);
      expect({ text, errors: verdict(text, schema) === 'valid' ? null : ajv.errors }).toEqual({ text, errors: null });
    }
  });

  it('gives a sentiment prompt the lexicon label', async () => {
    const text = await askChat([{ role: 'user', content: 'Classify the sentiment: "great value, I love it"' }]);
    expect(JSON.parse(text)).toMatchObject({ sentiment: 'positive' });
  });
});

describe('invalidOutputRate', () => {
  it('makes about that fraction of first answers invalid, both kinds, the same way every time', async () => {
    sim.configure({ invalidOutputRate: 0.3 });
    const kinds = { valid: 0, 'not-json': 0, schema: 0 };
    const prompts = Array.from({ length: 300 }, (_, i) => `Review number ${i}: the kettle was fine.`);
    const answers = await Promise.all(prompts.map((p) => askChat([{ role: 'user', content: p }])));
    for (const text of answers) kinds[verdict(text, REVIEW_SCHEMA)] += 1;
    const invalid = kinds['not-json'] + kinds.schema;
    expect(invalid).toBeGreaterThan(60);
    expect(invalid).toBeLessThan(120);
    expect(kinds['not-json']).toBeGreaterThan(10);
    expect(kinds.schema).toBeGreaterThan(10);
    expect(sim.stats().structured).toEqual({ answers: 300, invalid, corrections: 0 });

    const again = await Promise.all(prompts.slice(0, 40).map((p) => askChat([{ role: 'user', content: p }])));
    expect(again).toEqual(answers.slice(0, 40));
  });

  it('answers a correction (assistant turn + user turn) validly', async () => {
    sim.configure({ invalidOutputRate: 1 });
    const first: Message[] = [{ role: 'user', content: 'Review: the lamp is bright.' }];
    const bad = await askChat(first);
    expect(verdict(bad, REVIEW_SCHEMA)).not.toBe('valid');
    const fixed = await askChat([
      ...first,
      { role: 'assistant', content: bad },
      { role: 'user', content: 'Your answer did not match the schema. Answer again.' },
    ]);
    expect(verdict(fixed, REVIEW_SCHEMA)).toBe('valid');
    expect(sim.stats().structured).toEqual({ answers: 2, invalid: 1, corrections: 1 });
  });

  it(`keeps a ${INVALID_OUTPUT_MARKER} conversation invalid, corrections included, at rate 0`, async () => {
    expect(INVALID_OUTPUT_MARKER).toBe('[sim:invalid-output]');
    const first: Message[] = [{ role: 'user', content: `Review: fine. ${INVALID_OUTPUT_MARKER}` }];
    const bad = await askChat(first);
    expect(verdict(bad, REVIEW_SCHEMA)).not.toBe('valid');
    const retried = await askChat([
      ...first,
      { role: 'assistant', content: bad },
      { role: 'user', content: 'That failed validation. Try again.' },
    ]);
    expect(verdict(retried, REVIEW_SCHEMA)).not.toBe('valid');
    await askChat([{ role: 'user', content: 'An ordinary review.' }]);
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'plain text' }] });
    expect(sim.stats().structured).toEqual({ answers: 3, invalid: 2, corrections: 1 });
    await fetch(`${sim.origin}/_sim/reset`, { method: 'POST' });
    expect(sim.stats().structured).toEqual({ answers: 0, invalid: 0, corrections: 0 });
  });

  it('works on /v1/responses with text.format json_schema', async () => {
    const config = await fetch(`${sim.origin}/_sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invalidOutputRate: 1 }),
    });
    expect(((await config.json()) as { invalidOutputRate: number }).invalidOutputRate).toBe(1);
    const text = { format: { type: 'json_schema' as const, name: 'review', schema: REVIEW_SCHEMA } };
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'Review: the chair wobbles.', text });
    expect(verdict(first.output_text, REVIEW_SCHEMA)).not.toBe('valid');
    const fixed = await client.responses.create({
      model: 'gpt-4o-mini',
      input: [
        { role: 'user', content: 'Review: the chair wobbles.' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'Invalid JSON for the schema; answer again.' },
      ],
      text,
    });
    expect(verdict(fixed.output_text, REVIEW_SCHEMA)).toBe('valid');
    sim.configure({ invalidOutputRate: 0 });
    const valid = await client.responses.create({ model: 'gpt-4o-mini', input: 'Review: a good desk.', text });
    expect(verdict(valid.output_text, REVIEW_SCHEMA)).toBe('valid');
    expect(sim.stats().structured).toEqual({ answers: 3, invalid: 1, corrections: 1 });
  });
});

describe('deliberately invalid answers', () => {
  const VIOLABLE: [string, object, boolean][] = [
    ['required properties: one is dropped', REVIEW_SCHEMA, true],
    ['no required, enum first', { type: 'object', properties: { label: { enum: ['x', 'y'] } } }, true],
    ['no required, typed first', { type: 'object', properties: { n: { type: ['integer', 'null'] } } }, true],
    ['no required, untyped then const', { type: 'object', properties: { any: {}, c: { const: 3 } } }, true],
    ['a $ref root', { $ref: '#/$defs/r', $defs: { r: REVIEW_SCHEMA } }, true],
    ['alternatives at the root: only the cut', { anyOf: [REVIEW_SCHEMA, { type: 'object' }] }, false],
  ];

  it.each(VIOLABLE)('%s: fails ajv every time', (_name, schema, schemaKindExpected) => {
    const kinds = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const prompt = {
        digest: sha256(`invalid ${i}`),
        messages: [{ role: 'user', text: `q ${i}` }],
        maxTokens: undefined,
      };
      const format = { type: 'json_schema' as const, schema };
      const valid = generateAnswer({ ...prompt, format }, 0).text;
      expect(verdict(valid, schema)).toBe('valid');
      const invalid = generateAnswer({ ...prompt, format, invalid: true }, 0).text;
      kinds.add(verdict(invalid, schema));
    }
    expect(kinds).toEqual(new Set(schemaKindExpected ? ['not-json', 'schema'] : ['not-json']));
  });

  it('gives a native batch line the same (invalid) answer as the realtime call', async () => {
    sim.configure({ invalidOutputRate: 1 });
    const body = chatParams([{ role: 'user', content: 'Review: the batch kettle.' }]);
    const realtime = (await client.chat.completions.create(body)).choices[0]!.message.content!;
    expect(verdict(realtime, REVIEW_SCHEMA)).not.toBe('valid');
    const file = await uploadJsonl(client, [{ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body }]);
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await waitForBatch(client, batch.id);
    const [line] = await readJsonl(client, done.output_file_id);
    expect(line!.response!.body.choices![0]!.message.content).toBe(realtime);
    // Realtime answers only: the batch line is not in the structured stats.
    expect(sim.stats().structured).toEqual({ answers: 1, invalid: 1, corrections: 0 });
  });
});

describe('--invalid-output-rate', () => {
  it('parses from the flag and SIM_INVALID_OUTPUT_RATE, and refuses values outside 0..1', () => {
    expect(flagOf('invalidOutputRate')).toBe('--invalid-output-rate');
    expect(envOf('invalidOutputRate')).toBe('SIM_INVALID_OUTPUT_RATE');
    expect(parseCli(['--invalid-output-rate', '0.25'], {})).toMatchObject({
      kind: 'run',
      options: { invalidOutputRate: 0.25 },
    });
    expect(parseCli([], { SIM_INVALID_OUTPUT_RATE: '0.5' })).toMatchObject({
      kind: 'run',
      options: { invalidOutputRate: 0.5 },
    });
    expect(parseCli([], {})).toMatchObject({ kind: 'run', options: { invalidOutputRate: 0 } });
    expect(parseCli(['--invalid-output-rate', '1.5'], {})).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--invalid-output-rate/),
    });
    expect(parseCli(['--help'], {})).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('SIM_INVALID_OUTPUT_RATE'),
    });
  });
});
