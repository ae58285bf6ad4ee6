import type OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { clientFor, failureOf, unchecked } from './helpers';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator();
  client = clientFor(sim);
});
afterAll(() => sim.close());

const norm = (v: number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

describe('POST /v1/embeddings', () => {
  it('base64 (the client default) decodes to unit vectors of the requested dimensions', async () => {
    const result = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['hello', 'world'],
      dimensions: 256,
    });
    expect(result.object).toBe('list');
    expect(result.data.map((d) => d.index)).toEqual([0, 1]);
    for (const item of result.data) {
      expect(item.embedding).toHaveLength(256);
      expect(norm(item.embedding)).toBeCloseTo(1, 5);
    }
    expect(result.data[0]!.embedding).not.toEqual(result.data[1]!.embedding);
    expect(result.usage.prompt_tokens).toBe(2);
    expect(result.usage.total_tokens).toBe(2);
  });

  it('is deterministic per model + input, and float format carries the same numbers', async () => {
    const a = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'same text' });
    const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['other', 'same text'] });
    const asFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'same text',
      encoding_format: 'float',
    });
    const otherModel = await client.embeddings.create({
      model: 'text-embedding-3-large',
      input: 'same text',
      dimensions: 1536,
    });
    expect(a.data[0]!.embedding).toHaveLength(1536);
    expect(b.data[1]!.embedding).toEqual(a.data[0]!.embedding);
    expect(asFloat.data[0]!.embedding).toEqual(a.data[0]!.embedding);
    expect(otherModel.data[0]!.embedding).not.toEqual(a.data[0]!.embedding);
  });

  it('uses the model width by default and shortens like text-embedding-3 (normalized prefix)', async () => {
    const full = await client.embeddings.create({
      model: 'text-embedding-3-large',
      input: 'prefix',
      encoding_format: 'float',
    });
    const short = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'prefix', dimensions: 64 });
    expect(full.data[0]!.embedding).toHaveLength(3072);
    const prefix = full.data[0]!.embedding.slice(0, 64);
    const scaled = prefix.map((x) => x / norm(prefix));
    short.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(scaled[i]!, 5));
  });

  it('accepts token arrays and counts their tokens', async () => {
    const result = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(result.data).toHaveLength(2);
    expect(result.usage.prompt_tokens).toBe(5);
  });

  it('rejects too many dimensions and empty input with 400', async () => {
    const tooWide = await failureOf(
      client.embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 4000 }),
    );
    expect(tooWide.status).toBe(400);
    expect(tooWide.error.param).toBe('dimensions');
    const empty = await failureOf(client.embeddings.create({ model: 'text-embedding-3-small', input: '' }));
    expect(empty.status).toBe(400);
    expect(empty.error.param).toBe('input');
  });
});

describe('POST /v1/responses', () => {
  it('answers a string input with one output message and usage', async () => {
    const response = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say something about rivers.' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output).toHaveLength(1);
    expect(response.output[0]!.type).toBe('message');
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage!.input_tokens).toBeGreaterThan(0);
    expect(response.usage!.output_tokens).toBeGreaterThan(0);
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    const again = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say something about rivers.' });
    expect(again.output_text).toBe(response.output_text);
  });

  it('accepts message input with instructions, and classifies sentiment', async () => {
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Answer with the sentiment of the review.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Excellent service, I am very happy.' }] }],
    });
    expect(response.output_text).toBe('positive');
  });

  it('stops at max_output_tokens and reports the response incomplete', async () => {
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Write a long story.',
      max_output_tokens: 16,
    });
    expect(response.usage!.output_tokens).toBeLessThanOrEqual(16);
    expect(response.status).toBe('incomplete');
  });

  it('rejects a request without input', async () => {
    const error = await failureOf(client.responses.create(unchecked({ model: 'gpt-4o-mini' })));
    expect(error.status).toBe(400);
    expect(error.error.param).toBe('input');
  });
});
