import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/provider/canonical';
import { generateAnswer } from '../../src/provider/content/answer';
import { asksForSentiment, classifySentiment } from '../../src/provider/content/sentiment';
import { Prng } from '../../src/provider/prng';
import { countPromptTokens, countTokens } from '../../src/provider/tokens';

const digest = (text: string) => createHash('sha256').update(text).digest();

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });
});

describe('Prng', () => {
  it('repeats for the same seed and differs across seeds', () => {
    const sample = (p: Prng) => Array.from({ length: 5 }, () => p.nextUint32());
    expect(sample(Prng.fromSeed(42))).toEqual(sample(Prng.fromSeed(42)));
    expect(sample(Prng.fromSeed(42))).not.toEqual(sample(Prng.fromSeed(43)));
    expect(sample(Prng.fromDigest(digest('a')))).not.toEqual(sample(Prng.fromDigest(digest('b'))));
  });

  it('is roughly uniform and its gaussian roughly standard', () => {
    const p = Prng.fromSeed(1);
    const uniform = Array.from({ length: 20_000 }, () => p.next());
    const mean = uniform.reduce((s, x) => s + x, 0) / uniform.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniform)).toBeLessThan(1);
    const normal = Array.from({ length: 20_000 }, () => p.gaussian());
    const variance = normal.reduce((s, x) => s + x * x, 0) / normal.length;
    expect(variance).toBeGreaterThan(0.95);
    expect(variance).toBeLessThan(1.05);
  });
});

describe('sentiment', () => {
  it.each([
    ['Great product, I love it', 'positive'],
    ['Awful. Broken on arrival and the worst support', 'negative'],
    ["It isn't good at all", 'negative'],
    ['not bad, actually excellent', 'positive'],
    ['The box is blue', 'neutral'],
  ])('%s -> %s', (text, label) => {
    expect(classifySentiment(text)).toBe(label);
  });

  it('switches on only when the prompt mentions sentiment', () => {
    expect(asksForSentiment(['What is the SENTIMENT here?'])).toBe(true);
    expect(asksForSentiment(['Summarize this review'])).toBe(false);
  });
});

describe('generateAnswer', () => {
  const prompt = (text: string, maxTokens?: number) => ({
    digest: digest(text),
    messages: [{ role: 'user', text }],
    maxTokens,
    format: { type: 'text' as const },
  });

  it('is a pure function of the prompt and choice index', () => {
    expect(generateAnswer(prompt('x'), 0)).toEqual(generateAnswer(prompt('x'), 0));
    expect(generateAnswer(prompt('x'), 0).text).not.toBe(generateAnswer(prompt('x'), 1).text);
    expect(generateAnswer(prompt('x'), 0).text).not.toBe(generateAnswer(prompt('y'), 0).text);
  });

  it('reports the exact token count of its text and stays within 16-64 tokens by default', () => {
    for (let i = 0; i < 50; i++) {
      const answer = generateAnswer(prompt(`prompt ${i}`), 0);
      expect(answer.tokens).toBe(countTokens(answer.text));
      expect(answer.tokens).toBeGreaterThanOrEqual(12);
      expect(answer.tokens).toBeLessThanOrEqual(70);
      expect(answer.finishReason).toBe('stop');
    }
  });

  it('never exceeds maxTokens', () => {
    for (const max of [1, 2, 7, 20]) {
      const answer = generateAnswer(prompt('long please', max), 0);
      expect(answer.tokens).toBeLessThanOrEqual(max);
      expect(countTokens(answer.text)).toBeLessThanOrEqual(max);
    }
  });
});

describe('token counting', () => {
  it('adds per-message framing to the content tokens', () => {
    const one = countPromptTokens([{ role: 'user', text: 'hello world' }]);
    const two = countPromptTokens([
      { role: 'user', text: 'hello world' },
      { role: 'assistant', text: 'hello world' },
    ]);
    expect(one).toBeGreaterThan(countTokens('hello world'));
    expect(two - one).toBeGreaterThan(countTokens('hello world'));
  });
});
