import { requestDigest, sha256 } from '../canonical';
import { invalidRequest } from '../openaiErrors';
import { Prng } from '../prng';
import { countTokens } from '../tokens';
import { embeddingsRequestSchema } from './schemas';
import type { PreparedRequest } from './types';
import { parseBody } from './validation';

export const EMBEDDINGS_ENDPOINT = '/v1/embeddings';

/** Native width per model; `dimensions` may shorten it (text-embedding-3 models only). */
function nativeDimensions(model: string): { width: number; shortenable: boolean } {
  if (model.includes('text-embedding-3-large')) return { width: 3072, shortenable: true };
  if (model.includes('text-embedding-3')) return { width: 1536, shortenable: true };
  if (model.includes('ada-002')) return { width: 1536, shortenable: false };
  return { width: 1536, shortenable: true };
}

/**
 * Unit vector for one input. Components are a seeded gaussian stream, so a
 * shorter `dimensions` is the normalized prefix of the full vector, the same
 * relation text-embedding-3 has between its sizes.
 */
export function embeddingVector(model: string, input: string | readonly number[], dimensions: number): Float32Array {
  const key = typeof input === 'string' ? `s:${input}` : `t:${input.join(',')}`;
  const rng = Prng.fromDigest(sha256(`${model}\n${key}`));
  const raw = new Float64Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const value = rng.gaussian();
    raw[i] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm);
  return Float32Array.from(raw, (value) => value * scale);
}

export function prepareEmbeddings(body: unknown): PreparedRequest {
  const request = parseBody(embeddingsRequestSchema, body);
  const native = nativeDimensions(request.model);
  const dimensions = request.dimensions ?? native.width;
  if (request.dimensions != null && (!native.shortenable || request.dimensions > native.width)) {
    throw invalidRequest(
      native.shortenable
        ? `Invalid 'dimensions': ${request.dimensions} is larger than ${native.width}, the size of ${request.model}.`
        : `This model does not support specifying dimensions.`,
      'dimensions',
      'invalid_value',
    );
  }
  const inputs = normalizeInputs(request.input);
  const promptTokens = inputs.reduce<number>(
    (sum, input) => sum + (typeof input === 'string' ? countTokens(input) : input.length),
    0,
  );
  const base64 = request.encoding_format === 'base64';
  return {
    endpoint: EMBEDDINGS_ENDPOINT,
    digest: requestDigest(EMBEDDINGS_ENDPOINT, body),
    estimatedTokens: promptTokens,
    stream: false,
    includeStreamUsage: false,
    respond: () => ({
      object: 'list',
      data: inputs.map((input, index) => {
        const vector = embeddingVector(request.model, input, dimensions);
        return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : Array.from(vector) };
      }),
      model: request.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    }),
  };
}

function normalizeInputs(input: string | string[] | number[] | number[][]): (string | number[])[] {
  if (typeof input === 'string') return [input];
  if (input.every((item) => typeof item === 'number')) return [input];
  return input;
}

/** Little-endian float32, which is what the openai client decodes. */
function toBase64(vector: Float32Array): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => buffer.writeFloatLE(value, i * 4));
  return buffer.toString('base64');
}
