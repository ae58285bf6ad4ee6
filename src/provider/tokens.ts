import { decode, encode } from 'gpt-tokenizer';

/**
 * Token counting with the o200k_base encoding (gpt-4o family). Counts need not
 * match every model exactly; they need to be realistic enough that TPM limits
 * and usage accounting behave like the real API.
 */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : encode(text).length;
}

/** The longest prefix of `text` that fits in `maxTokens` tokens. */
export function truncateToTokens(text: string, maxTokens: number): { text: string; tokens: number } {
  const tokens = encode(text);
  if (tokens.length <= maxTokens) return { text, tokens: tokens.length };
  const kept = tokens.slice(0, maxTokens);
  return { text: decode(kept), tokens: kept.length };
}

/**
 * OpenAI's chat format wraps every message in a few framing tokens (the cookbook's count for gpt-4o and later).
 * llmbatch estimates with the same rule (src/shared/tokens.ts); the simulator stands apart from the rest of src,
 * so it keeps its own copy, and test/shared/tokens.test.ts holds the two to the same numbers.
 */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const TOKENS_REPLY_PRIMING = 3;

export interface CountableMessage {
  role: string;
  text: string;
  name?: string | undefined;
}

export function countPromptTokens(messages: readonly CountableMessage[]): number {
  let total = TOKENS_REPLY_PRIMING;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTokens(message.role) + countTokens(message.text);
    if (message.name !== undefined) total += TOKENS_PER_NAME + countTokens(message.name);
  }
  return total;
}
