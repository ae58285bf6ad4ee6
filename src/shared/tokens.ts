/**
 * Token estimates for rate limiting, counted as OpenAI documents it for chat models (the cookbook's
 * `num_tokens_from_messages`, gpt-4o and later): 3 tokens of framing per message plus its role and content
 * (and 1 plus the name, when it has one), and 3 that prime the reply; text in o200k_base (gpt-tokenizer).
 * Like OpenAI's TPM accounting, a request is charged its prompt plus the completion budget it asks for.
 * The simulator (src/provider/tokens.ts, which imports nothing from the rest of src) counts the same way;
 * test/shared/tokens.test.ts holds the two to the same numbers.
 * Used by the API (token-bounded chunks) and the activities (lanes); not by workflow code.
 */
import { countTokens } from 'gpt-tokenizer';
import type { BatchLine } from './contracts';

/** Completion budget assumed when a request sets no max_tokens (the simulator's default answer length cap). */
export const DEFAULT_COMPLETION_ESTIMATE = 64;
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const TOKENS_REPLY_PRIMING = 3;

export interface CountableMessage {
  role: string;
  text: string;
  name?: string | undefined;
}

/** A chat prompt's tokens: framing, roles, names and text. */
export function countPromptTokens(messages: readonly CountableMessage[]): number {
  let total = TOKENS_REPLY_PRIMING;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTokens(message.role) + countTokens(message.text);
    if (message.name !== undefined) total += TOKENS_PER_NAME + countTokens(message.name);
  }
  return total;
}

/** Message content as plain text: a string, or the text of its parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof (part as { text?: unknown })?.text === 'string' ? (part as { text: string }).text : ''))
    .join('');
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function messagesOf(line: BatchLine): CountableMessage[] {
  const body = line.body;
  const items = (value: unknown): Record<string, unknown>[] =>
    Array.isArray(value) ? value.filter((m): m is Record<string, unknown> => m !== null && typeof m === 'object') : [];
  if (line.url === '/v1/chat/completions') {
    return items(body.messages).map((m) => ({
      role: str(m.role),
      text: textOf(m.content),
      name: typeof m.name === 'string' ? m.name : undefined,
    }));
  }
  // The Responses API: instructions are a developer message, then the input (a string or messages).
  const messages: CountableMessage[] = [];
  if (str(body.instructions)) messages.push({ role: 'developer', text: str(body.instructions) });
  if (typeof body.input === 'string') messages.push({ role: 'user', text: body.input });
  else for (const m of items(body.input)) messages.push({ role: str(m.role), text: textOf(m.content) });
  return messages;
}

/** Embeddings: each string input's tokens, or the length of each token array. */
function embeddingTokens(input: unknown): number {
  if (typeof input === 'string') return countTokens(input);
  if (!Array.isArray(input)) return 0;
  if (input.every((item) => typeof item === 'number')) return input.length;
  return input.reduce<number>((sum, item: unknown) => sum + embeddingTokens(item), 0);
}

const numberOr = (...values: unknown[]): number | undefined => values.find((v): v is number => typeof v === 'number');

export function estimateTokens(line: BatchLine): number {
  const body = line.body;
  if (line.url === '/v1/embeddings') return embeddingTokens(body.input);
  const prompt = countPromptTokens(messagesOf(line));
  if (line.url === '/v1/responses') return prompt + (numberOr(body.max_output_tokens) ?? DEFAULT_COMPLETION_ESTIMATE);
  const n = numberOr(body.n) ?? 1;
  return prompt + n * (numberOr(body.max_completion_tokens, body.max_tokens) ?? DEFAULT_COMPLETION_ESTIMATE);
}
