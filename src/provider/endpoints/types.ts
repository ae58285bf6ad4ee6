import type { StructuredVerdict } from '../content/invalidOutput';

/** The knobs that shape answers (a subset of the options, so batch lines and realtime calls share them). */
export interface AnswerSettings {
  invalidOutputRate: number;
}

export const DEFAULT_ANSWER_SETTINGS: AnswerSettings = { invalidOutputRate: 0 };

/** A validated request, ready to be rate-limited, faulted or answered. */
export interface PreparedRequest {
  endpoint: string;
  /** sha256 of endpoint + canonical body: keys the answer and the per-body call counts. */
  digest: Buffer;
  /** What the request costs against the TPM limit (prompt + worst-case completion). */
  estimatedTokens: number;
  stream: boolean;
  includeStreamUsage: boolean;
  /** For a json_schema request: whether its answer is deliberately invalid and whether it is a correction. */
  structured?: StructuredVerdict;
  /** Builds the successful response body; deterministic apart from `id`/`created`. */
  respond(): Record<string, unknown>;
}
