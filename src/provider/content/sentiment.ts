import { NEGATIVE_WORDS, NEGATORS, POSITIVE_WORDS, type SentimentLabel } from './lexicon';

/** True when a prompt asks for sentiment, which switches on the classifier answer. */
export function asksForSentiment(texts: readonly string[]): boolean {
  return texts.some((text) => /sentiment/i.test(text));
}

/**
 * Tiny lexicon classifier. It is not meant to be accurate, only deterministic
 * and plausible, so a demo over product reviews prints sensible labels.
 */
export function classifySentiment(text: string): SentimentLabel {
  const words = text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? [];
  let score = 0;
  let negate = false;
  for (const word of words) {
    const polarity = POSITIVE_WORDS.has(word) ? 1 : NEGATIVE_WORDS.has(word) ? -1 : 0;
    if (polarity !== 0) {
      score += negate ? -polarity : polarity;
      negate = false;
    } else if (NEGATORS.has(word) || word.endsWith("n't")) {
      negate = true;
    }
  }
  return score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral';
}
