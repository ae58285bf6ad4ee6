import type OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../src/provider';
import { chatBody, clientFor } from './helpers';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator();
  client = clientFor(sim);
});
afterAll(() => sim.close());

const ask = (content: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create(chatBody(content, extra)) as Promise<OpenAI.ChatCompletion>;

describe('POST /v1/chat/completions', () => {
  it('answers in the ChatCompletion shape with realistic usage and an x-request-id', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Tell me about rivers.' },
        ],
      })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.choices).toHaveLength(1);
    const choice = data.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(typeof choice.message.content).toBe('string');
    expect(choice.message.content!.length).toBeGreaterThan(0);
    expect(choice.finish_reason).toBe('stop');
    expect(data.usage!.prompt_tokens).toBeGreaterThan(10); // two messages plus framing
    expect(data.usage!.completion_tokens).toBeGreaterThanOrEqual(10);
    expect(data.usage!.completion_tokens).toBeLessThanOrEqual(70);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('is deterministic: same body, same choices; different body, different content; fresh ids', async () => {
    const a = await ask('What is the capital of France?');
    const b = await ask('What is the capital of France?');
    const c = await ask('What is the capital of Spain?');
    expect(b.choices).toEqual(a.choices);
    expect(b.usage).toEqual(a.usage);
    expect(b.id).not.toBe(a.id);
    expect(c.choices[0]!.message.content).not.toBe(a.choices[0]!.message.content);
  });

  it('ignores key order: canonically equal bodies get the same answer', async () => {
    const a = await client.chat.completions.create({
      model: 'm',
      temperature: 0,
      messages: [{ role: 'user', content: 'order test' }],
    });
    const b = await client.chat.completions.create({
      messages: [{ content: 'order test', role: 'user' }],
      temperature: 0,
      model: 'm',
    });
    expect(b.choices).toEqual(a.choices);
  });

  it('cuts the answer at max_tokens with finish_reason "length"', async () => {
    for (const limit of [{ max_tokens: 5 }, { max_completion_tokens: 3 }]) {
      const answer = await ask('Write a long essay.', limit);
      const max = Object.values(limit)[0]!;
      expect(answer.usage!.completion_tokens).toBeLessThanOrEqual(max);
      expect(answer.usage!.completion_tokens).toBeGreaterThan(0);
      expect(answer.choices[0]!.finish_reason).toBe('length');
    }
  });

  it('returns n distinct choices, each reproducible', async () => {
    const a = await ask('Give me options', { n: 3 });
    const b = await ask('Give me options', { n: 3 });
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(a.choices.map((c) => c.message.content)).size).toBe(3);
    expect(b.choices).toEqual(a.choices);
  });

  it('answers sentiment prompts with a label from the user text', async () => {
    const classify = async (review: string) => {
      const answer = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Classify the sentiment of the review as positive, negative or neutral.' },
          { role: 'user', content: review },
        ],
      });
      return answer.choices[0]!.message.content;
    };
    expect(await classify('I love this blender, it works great and I would recommend it.')).toBe('positive');
    expect(await classify('Terrible. It arrived broken and support was rude.')).toBe('negative');
    expect(await classify('It is a blender. It came on Tuesday.')).toBe('neutral');
    expect(await classify('The coffee was not good.')).toBe('negative');
  });

  it('returns a JSON object for response_format json_object and json_schema', async () => {
    const plain = await ask('Describe a garden.', { response_format: { type: 'json_object' } });
    expect(typeof JSON.parse(plain.choices[0]!.message.content!)).toBe('object');

    const sentiment = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Return the sentiment as JSON: "awful, the worst purchase"' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(sentiment.choices[0]!.message.content!)).toEqual({ sentiment: 'negative' });

    const structured = await ask('Classify the sentiment: "great value, I love it"', {
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'review',
          schema: {
            type: 'object',
            properties: {
              sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral'] },
              score: { type: 'number' },
              tags: { type: 'array', items: { type: 'string' } },
              spam: { type: 'boolean' },
            },
          },
        },
      },
    });
    const value = JSON.parse(structured.choices[0]!.message.content!);
    expect(value.sentiment).toBe('positive');
    expect(typeof value.score).toBe('number');
    expect(Array.isArray(value.tags)).toBe(true);
    expect(typeof value.spam).toBe('boolean');
  });

  it('streams the same content as the plain call when stream is true', async () => {
    const plain = await ask('Stream me a sentence.');
    const stream = await client.chat.completions.create({
      ...chatBody('Stream me a sentence.'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null = null;
    for await (const chunk of stream as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage).toEqual(plain.usage);
  });
});
