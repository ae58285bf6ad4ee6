/**
 * Review-sentiment requests made from a fixed seed, so every demo run sends
 * the same batch. The reviews are assembled from phrase lists.
 */
import type { BatchLine } from '../src/shared/contracts';

const products = [
  'headphones',
  'coffee grinder',
  'desk lamp',
  'running shoes',
  'backpack',
  'e-reader',
  'blender',
  'keyboard',
];
const openers = {
  positive: ['I love these', 'Really happy with the', 'Excellent', 'Great value for the', 'Fantastic'],
  negative: ['Very disappointed with the', 'I regret buying the', 'Terrible', 'Broken after a week: the', 'Awful'],
  neutral: ['It is an okay', 'Average', 'Does the job, this', 'Nothing special about the', 'A plain'],
};
const closers = {
  positive: ['Works perfectly.', 'Would buy again.', 'Highly recommend it.', 'Five stars from me.'],
  negative: ['Returned it.', 'Waste of money.', 'Poor quality overall.', 'Would not recommend.'],
  neutral: ['It arrived on time.', 'Packaging was fine.', 'Time will tell.', 'It is what it is.'],
};

/** mulberry32: a tiny seeded PRNG; the demo needs repeatability, not quality. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

export function makeReviewRequests(count: number, seed = 42, model = 'gpt-4o-mini'): BatchLine[] {
  const rand = prng(seed);
  const moods = ['positive', 'negative', 'neutral'] as const;
  return Array.from({ length: count }, (_, i) => {
    const mood = pick(rand, moods);
    const review = `${pick(rand, openers[mood])} ${pick(rand, products)}. ${pick(rand, closers[mood])}`;
    return {
      custom_id: `review-${String(i + 1).padStart(6, '0')}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model,
        max_tokens: 5,
        messages: [
          {
            role: 'system',
            content: 'Classify the sentiment of the review. Answer with one word: positive, negative or neutral.',
          },
          { role: 'user', content: review },
        ],
      },
    };
  });
}
