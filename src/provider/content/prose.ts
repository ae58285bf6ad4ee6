import { countTokens } from '../tokens';
import type { Prng } from '../prng';
import { FILLER_WORDS } from './lexicon';

/** Default answer length when the request sets no token limit. */
export const DEFAULT_MIN_TOKENS = 16;
export const DEFAULT_MAX_TOKENS = 64;

const wordTokenCache = new Map<string, number>();

function wordTokens(word: string): number {
  let cached = wordTokenCache.get(word);
  if (cached === undefined) {
    cached = countTokens(` ${word}`);
    wordTokenCache.set(word, cached);
  }
  return cached;
}

/**
 * Pseudo-English sentences of roughly `targetTokens` tokens. The estimate
 * counts each word on its own, which is close to (and usually slightly above)
 * the true count of the whole text; callers re-count the result exactly.
 */
export function generateProse(rng: Prng, targetTokens: number): string {
  const parts: string[] = [];
  let tokens = 0;
  let sentenceLeft = 0;
  while (tokens < targetTokens) {
    let word = rng.pick(FILLER_WORDS);
    if (sentenceLeft === 0) {
      word = word.charAt(0).toUpperCase() + word.slice(1);
      sentenceLeft = rng.int(5, 14);
    }
    sentenceLeft -= 1;
    const last = sentenceLeft === 0 || tokens + wordTokens(word) + 1 >= targetTokens;
    if (last) sentenceLeft = 0;
    parts.push(last ? `${word}.` : word);
    tokens += wordTokens(word) + (last ? 1 : 0);
  }
  return parts.join(' ');
}

/** A short phrase (for string fields of generated JSON). */
export function generatePhrase(rng: Prng, minWords: number, maxWords: number): string {
  const count = rng.int(minWords, maxWords);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(rng.pick(FILLER_WORDS));
  return words.join(' ');
}
