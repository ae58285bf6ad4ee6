/**
 * llmbatch's token estimate (src/shared/tokens.ts) and the simulator's own count (src/provider) must agree:
 * the estimate of a request is what the simulator's rate limiter charges for it, and the prompt part is the
 * prompt_tokens it reports.
 */
import type { BatchLine } from '../../src/shared/contracts';
import { countPromptTokens, estimateTokens } from '../../src/shared/tokens';
import { prepareChat } from '../../src/provider/endpoints/chat';
import { prepareEmbeddings } from '../../src/provider/endpoints/embeddings';
import { prepareResponses } from '../../src/provider/endpoints/responses';
import { countPromptTokens as simulatorPromptTokens } from '../../src/provider/tokens';

const line = (url: BatchLine['url'], body: Record<string, unknown>): BatchLine => ({
  custom_id: 'x',
  method: 'POST',
  url,
  body,
});
const long = 'the quick brown fox jumps over the lazy dog '.repeat(30);

describe('the token estimate and the simulator agree', () => {
  it.each([
    ['one user message', { messages: [{ role: 'user', content: 'hello world' }] }],
    [
      'system, named user, assistant; max_tokens and n',
      {
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', name: 'ada', content: long },
          { role: 'assistant', content: 'ok' },
        ],
        max_tokens: 50,
        n: 3,
      },
    ],
    [
      'content parts; max_completion_tokens over max_tokens',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'part one, ' },
              { type: 'text', text: 'part two' },
            ],
          },
        ],
        max_completion_tokens: 7,
        max_tokens: 900,
      },
    ],
  ])('chat: %s', (_name, body) => {
    const request = { model: 'gpt-4o-mini', ...body };
    expect(estimateTokens(line('/v1/chat/completions', request))).toBe(prepareChat(request).estimatedTokens);
  });

  it.each([
    ['a string input', { input: 'Summarize: ' + long }],
    [
      'instructions and messages; max_output_tokens',
      { instructions: 'Be brief.', input: [{ role: 'user', content: 'hi' }], max_output_tokens: 20 },
    ],
  ])('responses: %s', (_name, body) => {
    const request = { model: 'gpt-4o-mini', ...body };
    expect(estimateTokens(line('/v1/responses', request))).toBe(prepareResponses(request).estimatedTokens);
  });

  it.each([
    ['a string', { input: 'hello world' }],
    ['strings', { input: ['hello world', long] }],
    [
      'token arrays',
      {
        input: [
          [1, 2, 3],
          [4, 5],
        ],
      },
    ],
    ['one token array', { input: [1, 2, 3, 4] }],
  ])('embeddings: %s', (_name, body) => {
    const request = { model: 'text-embedding-3-small', ...body };
    expect(estimateTokens(line('/v1/embeddings', request))).toBe(prepareEmbeddings(request).estimatedTokens);
  });

  it('counts a chat prompt as OpenAI documents: 3 per message, role, content, 1 + name, 3 to prime the reply', () => {
    const messages = [
      { role: 'system', text: 'You are terse.' },
      { role: 'user', text: 'hello world', name: 'ada' },
    ];
    // system 1 + "You are terse." 4; user 1 + "hello world" 2; name 1 + "ada" 1
    expect(countPromptTokens(messages)).toBe(3 + (3 + 1 + 4) + (3 + 1 + 2 + 1 + 1));
    expect(simulatorPromptTokens(messages)).toBe(countPromptTokens(messages));
  });
});

describe('estimateTokens', () => {
  const chat = (content: string, extra: Record<string, unknown> = {}) =>
    ({
      custom_id: 'x',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'm', messages: [{ role: 'user', content }], ...extra },
    }) as const;

  it('counts prompt tokens with a real tokenizer plus the completion budget', () => {
    const short = estimateTokens(chat('hi', { max_tokens: 10 }));
    const long = estimateTokens(chat('the quick brown fox jumps over the lazy dog '.repeat(20), { max_tokens: 10 }));
    expect(long - short).toBeGreaterThan(150); // ~9 tokens per repeat
    expect(estimateTokens(chat('hi', { max_tokens: 100 })) - short).toBe(90);
    expect(estimateTokens(chat('hi', { max_tokens: 10, n: 3 })) - short).toBe(20);
  });

  it('counts embeddings input only', () => {
    const t = estimateTokens({
      custom_id: 'e',
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'm', input: 'hello world' },
    });
    expect(t).toBe(2);
  });
});
