/**
 * Token estimates for rate limiting, with a real tokenizer (gpt-tokenizer, o200k_base).
 * Like OpenAI's own TPM accounting: prompt tokens plus the completion budget asked for.
 * Used by the API (token-bounded chunks) and the activities (lanes); not by workflow code.
 */
import { countTokens } from 'gpt-tokenizer';
import type { BatchLine } from './contracts';

/** Completion budget assumed when a request sets no max_tokens. */
export const DEFAULT_COMPLETION_ESTIMATE = 64;
const TOKENS_PER_MESSAGE = 4;

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).join(' ');
  if (value && typeof value === 'object') {
    const v = value as { text?: unknown; content?: unknown };
    return textOf(v.text ?? v.content ?? '');
  }
  return '';
}

function promptTokens(body: Record<string, unknown>): number {
  if (Array.isArray(body.messages)) {
    return body.messages.reduce((n: number, m: unknown) => n + TOKENS_PER_MESSAGE + countTokens(textOf(m)), 3);
  }
  return countTokens(textOf(body.input ?? '')) + countTokens(textOf(body.instructions ?? ''));
}

export function estimateTokens(line: BatchLine): number {
  const body = line.body;
  const prompt = promptTokens(body);
  if (line.url === '/v1/embeddings') return prompt;
  const budget = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].find(
    (v): v is number => typeof v === 'number',
  );
  const n = typeof body.n === 'number' ? body.n : 1;
  return prompt + n * (budget ?? DEFAULT_COMPLETION_ESTIMATE);
}
