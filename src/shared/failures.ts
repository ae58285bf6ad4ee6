/**
 * Every failure llmbatch names, in one catalog: the `type` of each ApplicationFailure that activities and
 * workflows throw (retry policies and workflows match on it), and the error codes llmbatch itself writes
 * into result lines and Batch objects. Codes that come from the provider (a 400's own `code`, a provider
 * batch's `batch_expired`) are passed through as they are and are not listed here.
 */

/** ApplicationFailure types; each key is the type's own name. */
export const FailureType = {
  /** The provider refused our credentials (401/403): every call would fail alike, so the batch fails fast. */
  ProviderAuthError: 'ProviderAuthError',
  /** Some items of a chunk hit transient provider errors: retryable, Temporal re-runs what is still pending. */
  TransientProviderErrors: 'TransientProviderErrors',
  /** Native, retryable: the provider batch is not finished; Temporal's retry delay is the wait between polls. */
  ProviderBatchPending: 'ProviderBatchPending',
  /** Native, non-retryable: the provider refused the file or the batch (a 4xx other than auth). */
  ProviderBatchRejected: 'ProviderBatchRejected',
  /** Native, non-retryable: one chunk alone exceeds what a provider batch may hold. */
  NativeChunkTooLarge: 'NativeChunkTooLarge',
  /** Native, non-retryable: the workflow's input does not parse; the message names the field. */
  InvalidNativeInput: 'InvalidNativeInput',
  /** Webhook, non-retryable: the URL is not allowed (scheme, userinfo, private address...). */
  WebhookRefused: 'WebhookRefused',
  /** Webhook, non-retryable: the tenant has no (valid) secret, and an unsigned webhook is worthless. */
  WebhookNoSecret: 'WebhookNoSecret',
  /** Webhook, non-retryable: the receiver answered 410 Gone, asking for no more deliveries. */
  WebhookGone: 'WebhookGone',
  /** Webhook, retryable: non-2xx, timeout or connection error; retried with backoff or after Retry-After. */
  WebhookDeliveryFailed: 'WebhookDeliveryFailed',
  /** Webhook, non-retryable: the delivery input is unusable (e.g. a deliveryId with a dot): a bug on our side. */
  WebhookInvalid: 'WebhookInvalid',
  /** Schedules, non-retryable: a run's batch was refused (quota, the input file deleted, a line now invalid). */
  ScheduledRunRefused: 'ScheduledRunRefused',
  /** Gathering, non-retryable: the batch creation refused the gathered lines (the API checked them: a bug). */
  GatheredBatchRefused: 'GatheredBatchRefused',
} as const;
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** `error.code` of the result lines llmbatch writes itself (`GET /batches/{batch_id}/results?error_code=`). */
export const ItemErrorCode = {
  /** The item's `maxAttempts`-th transient failure: a dead letter (`POST /batches/{batch_id}/retry` redoes it). */
  RetriesExhausted: 'retries_exhausted',
  /** Native: still no final result after `maxRounds` provider batches. */
  ProviderBatchExhausted: 'provider_batch_exhausted',
  /**
   * Structured outputs: the answer was still not valid against its JSON Schema after the last repair; the result
   * line's `llmbatch.errors` lists why (JSON pointer and message). A dead letter.
   */
  InvalidOutput: 'invalid_output',
  /** Pipelines: a step's template could not be rendered for this item (a referenced value is missing). */
  TemplateError: 'template_error',
  /** A permanent provider error without a code of its own, for a 404. */
  NotFound: 'not_found',
  /** A permanent provider error without a code of its own (400, 413, 422). */
  InvalidRequest: 'invalid_request',
} as const;
export type ItemErrorCodeName = (typeof ItemErrorCode)[keyof typeof ItemErrorCode];

/** The codes of dead letters: items that may succeed if run again (`retryDeadLetters`, POST /batches/{id}/retry). */
export const DEAD_LETTER_CODES: ReadonlySet<string> = new Set([
  ItemErrorCode.RetriesExhausted,
  ItemErrorCode.InvalidOutput,
]);

/** `errors.data[].code` of a /v1 Batch object whose batch failed (or whose workflow never started). */
export const BATCH_FAILED_CODE = 'batch_failed';
