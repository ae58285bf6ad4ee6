/**
 * `POST /batches?wait=…` (src/api/submitWait.ts): the `wait` parameter's description and the 200 and 202
 * answers, their schemas checked against the TypeScript types at compile time (`WaitTypeChecks`).
 */
import { z } from 'zod';
import type { WaitedBatchView, WaitingBatchView, WaitOutcome } from '../../shared/views';
import { INLINE_MAX_ITEMS, MAX_WAIT_MS, NdjsonBatchQuerySchema } from '../schemas';
import { BatchOutputLineSchema, BatchViewSchema, CreatedBatchSchema } from './responses';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import type { Equal, Expect, Flat } from './typeChecks';

const INLINE = INLINE_MAX_ITEMS.toLocaleString('en-US');

export const WaitParam = NdjsonBatchQuerySchema.shape.wait.meta({
  description:
    `Wait up to this long (\`30s\`, \`1500ms\`, \`1m\`, or plain seconds; at most ${MAX_WAIT_MS / 1000} s) for ` +
    'the batch to end: 200 with its results inline if it does, else 202 and the batch goes on. Read for JSON ' +
    `bodies too. Native batches and batches over ${INLINE} items are not waited for (202 at once).`,
});

export const WaitOutcomeSchema = z.enum(['timeout', 'native', 'scheduled', 'too_large']).meta({
  id: 'WaitOutcome',
  description:
    'Why there are no results: the wait ran out (`timeout`), the batch runs native (`native`), starts later ' +
    `(\`scheduled\`: its notBefore), or it has more than ${INLINE} items (\`too_large\`).`,
});

/** 202: the batch goes on. */
export const WaitingBatchSchema = CreatedBatchSchema.extend({
  wait: WaitOutcomeSchema,
  waitedMs: z.number().int().meta({ description: 'How long the request waited (0: it did not wait).' }),
  message: z.string().meta({ description: 'The reason, in words.' }),
}).meta({ id: 'WaitingBatch' });

/** 200 for a JSON request: the ended batch and its result lines. */
export const WaitedBatchSchema = BatchViewSchema.extend({
  results: z
    .array(BatchOutputLineSchema)
    .meta({ description: 'Every result line, as `GET /batches/{batch_id}/results` gives them.' }),
}).meta({ id: 'WaitedBatch' });

const idHeader = z.string().meta({ description: "The batch's id (an NDJSON answer has it only here)." });

/** `POST /batches` → 200: a repeated Idempotency-Key, or (with `wait`) a batch that ended within the wait. */
export const createdOrWaited: ZodOpenApiResponseObject = {
  description:
    'With `wait`: the batch ended within the wait; its results inline (NDJSON for an NDJSON request, one line per ' +
    'item; else the batch with `results`), headers `Llmbatch-Batch-Id`, `Llmbatch-Batch-Status` and ' +
    '`Llmbatch-Wait: ended`. Without `wait`, a repeated Idempotency-Key: the batch the first request created, as ' +
    'it is now (header `Idempotent-Replayed: true`).',
  headers: z.object({
    'llmbatch-batch-id': idHeader.optional(),
    'llmbatch-batch-status': z.string().optional().meta({ description: 'With `wait`: how the batch ended.' }),
    'llmbatch-wait': z.literal('ended').optional(),
  }),
  content: {
    'application/json': { schema: z.union([WaitedBatchSchema, CreatedBatchSchema]) },
    'application/x-ndjson': { schema: BatchOutputLineSchema },
  },
};

/** `POST /batches?wait=…` → 202. */
export const waiting: ZodOpenApiResponseObject = {
  description: 'With `wait`: created, but not ended within the wait (or not waited for): it goes on; poll `Location`.',
  headers: z.object({
    location: z.string().meta({ description: '`/batches/{batch_id}`' }),
    'llmbatch-batch-id': idHeader,
    'llmbatch-wait': WaitOutcomeSchema,
  }),
  content: { 'application/json': { schema: WaitingBatchSchema } },
};

export type WaitTypeChecks = [
  Expect<Equal<z.infer<typeof WaitOutcomeSchema>, WaitOutcome>>,
  Expect<Equal<z.infer<typeof WaitingBatchSchema>, Flat<WaitingBatchView>>>,
  Expect<Equal<z.infer<typeof WaitedBatchSchema>, Flat<WaitedBatchView>>>,
];
