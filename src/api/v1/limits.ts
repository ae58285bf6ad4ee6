/** Bounds on what the /v1 API accepts; documented in README.md (Limits). */
import { LIMITS } from '../../shared/contracts';

export const V1_LIMITS = {
  /** One uploaded file (OpenAI's limit for batch input files). */
  maxUploadBytes: 200 * 1024 * 1024,
  /** Requests in one file, and so in one batch. */
  maxLines: LIMITS.maxItemsPerBatch,
  /** One line, without its line break. */
  maxLineBytes: LIMITS.maxLineBytes,
  maxFilenameLength: 255,
  /** Multipart form fields besides the file, and the size of each. */
  maxFormFields: 8,
  maxFormFieldBytes: 1024,
  /** OpenAI's metadata bounds. */
  metadataMaxKeys: 16,
  metadataKeyMaxLength: 64,
  metadataValueMaxLength: 512,
  batchListMax: 100,
  batchListDefault: 20,
  fileListMax: 10_000,
  fileListDefault: 10_000,
} as const;
