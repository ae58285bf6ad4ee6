import { createHash } from 'node:crypto';
import { Prng } from '../prng';
import { truncateToTokens, type CountableMessage } from '../tokens';
import { invalidateAnswer } from './invalidOutput';
import { generateFromSchema, generateJsonObject } from './jsonContent';
import { DEFAULT_MAX_TOKENS, DEFAULT_MIN_TOKENS, generateProse } from './prose';
import { asksForSentiment, classifySentiment } from './sentiment';

export type AnswerFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; schema: unknown };

export interface AnswerPrompt {
  /** Digest of the whole request: the only source of randomness for the answer. */
  digest: Buffer;
  messages: readonly CountableMessage[];
  maxTokens: number | undefined;
  format: AnswerFormat;
  /** A json_schema answer that must fail validation (structuredVerdict decides; the digest picks how). */
  invalid?: boolean;
}

export interface GeneratedAnswer {
  text: string;
  tokens: number;
  finishReason: 'stop' | 'length';
}

/**
 * The simulated model: a pure function of the prompt and the choice index, so
 * realtime calls, retries and native batch lines all agree byte for byte.
 */
export function generateAnswer(prompt: AnswerPrompt, choiceIndex: number): GeneratedAnswer {
  const rng = Prng.fromDigest(createHash('sha256').update(prompt.digest).update(`choice:${choiceIndex}`).digest());
  const naturalTokens = rng.int(DEFAULT_MIN_TOKENS, DEFAULT_MAX_TOKENS);
  const sentiment = asksForSentiment(prompt.messages.map((m) => m.text))
    ? classifySentiment(sentimentSubject(prompt.messages))
    : undefined;

  let text: string;
  switch (prompt.format.type) {
    case 'json_object':
      text = generateJsonObject(rng, naturalTokens, sentiment);
      break;
    case 'json_schema':
      text = generateFromSchema(rng, prompt.format.schema, sentiment);
      // Spoiled after generation, so the valid text (and everything drawn after it) stays as it was.
      if (prompt.invalid === true) text = invalidateAnswer(prompt.digest, choiceIndex, prompt.format.schema, text);
      break;
    default:
      text = sentiment ?? generateProse(rng, naturalTokens);
  }

  // Like a real model, an answer longer than the limit is cut mid-way.
  const limit = prompt.maxTokens ?? Number.POSITIVE_INFINITY;
  const fitted = truncateToTokens(text, limit);
  return { text: fitted.text, tokens: fitted.tokens, finishReason: fitted.text === text ? 'stop' : 'length' };
}

/** Classify what the user wrote, not the instructions around it. */
function sentimentSubject(messages: readonly CountableMessage[]): string {
  const userTexts = messages.filter((m) => m.role === 'user').map((m) => m.text);
  return (userTexts.length > 0 ? userTexts : messages.map((m) => m.text)).join('\n');
}
