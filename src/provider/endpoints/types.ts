/** A validated request, ready to be rate-limited, faulted or answered. */
export interface PreparedRequest {
  endpoint: string;
  /** sha256 of endpoint + canonical body: keys the answer and the per-body call counts. */
  digest: Buffer;
  /** What the request costs against the TPM limit (prompt + worst-case completion). */
  estimatedTokens: number;
  stream: boolean;
  includeStreamUsage: boolean;
  /** Builds the successful response body; deterministic apart from `id`/`created`. */
  respond(): Record<string, unknown>;
}
