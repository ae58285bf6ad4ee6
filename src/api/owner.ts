/**
 * Who owns a batch: an `owner` record beside every batch (both APIs), written before its workflow starts.
 * A batch without one, or with another tenant's, does not exist for the caller: 404, never 403, so that
 * ids cannot be probed across tenants.
 */
import { z } from 'zod';
import type { BatchStore } from '../storage/types';

export const OWNER_RECORD = 'owner';

/** What a batch id can hold (UUIDs of the project API, `batch_<hex>` of /v1). */
const BATCH_ID_CHARS = /^[A-Za-z0-9_-]{1,128}$/;

export const OwnerRecordSchema = z.object({
  tenant: z.string(),
  createdAt: z.iso.datetime(),
  /** The API that created it: `/v1` batches also have an `openai` record. */
  api: z.enum(['project', 'v1']),
  total: z.number().int(),
  mode: z.enum(['realtime', 'native']),
  /** The lines' model, or `mixed`; absent in records written before it was kept. */
  model: z.string().optional(),
  /** The batch whose dead letters this one retries. */
  retryOf: z.string().optional(),
  /** The batches that retried this one's dead letters, oldest first. */
  retriedBy: z.array(z.string()).optional(),
  /** Where its events go (the batch's own or the tenant's webhook). */
  webhookUrl: z.string().optional(),
  /** Why auto chose its mode. */
  modeReason: z.string().nullable().optional(),
  /** The schedule whose run created it (POST /schedules). */
  scheduleId: z.string().optional(),
  /** The Idempotency-Key it was created with: a repeated request gets this batch back. */
  idempotencyKey: z.string().optional(),
  /** SHA-256 of the request that came with the key: a repeat with another request is refused (422). */
  requestDigest: z.string().optional(),
});
export type OwnerRecord = z.infer<typeof OwnerRecordSchema>;

/** The batch's owner record, if `tenant` owns it. */
export async function ownedBatch(store: BatchStore, tenant: string, batchId: string): Promise<OwnerRecord | undefined> {
  if (!BATCH_ID_CHARS.test(batchId)) return undefined; // names no batch (and must not reach the store's paths)
  const parsed = OwnerRecordSchema.safeParse(await store.getRecord(batchId, OWNER_RECORD));
  return parsed.success && parsed.data.tenant === tenant ? parsed.data : undefined;
}

/** A `where` for listRecords: this tenant's batches, optionally only one API's and only those `also` accepts. */
export const ownedBy =
  (tenant: string, api?: OwnerRecord['api'], also?: (owner: OwnerRecord) => boolean) =>
  (raw: unknown): boolean => {
    const parsed = OwnerRecordSchema.safeParse(raw);
    return (
      parsed.success &&
      parsed.data.tenant === tenant &&
      (api === undefined || parsed.data.api === api) &&
      (also === undefined || also(parsed.data))
    );
  };
