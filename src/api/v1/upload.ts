/**
 * `POST /v1/files`: a multer storage engine that streams the file part through the batch line validator
 * into the file store's staging area. Nothing is visible until the route commits it, after every form
 * field has arrived and been checked. A bad file stops being written at its first bad line; the rest of
 * the part is drained (so that multer still reads the fields after it, and the client is answered
 * instead of cut off), and the route answers 400 naming the line.
 */
import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { Tenant } from '../../config';
import type { FileStore, StagedFile } from '../../storage/files';
import { tenantOf } from '../auth';
import { parseOr400 } from './errors';
import { V1_LIMITS } from './limits';
import { BatchFileValidator, type LineProblem } from '../lines';

export type UploadOutcome = { staged: StagedFile; requests: number } | { problem: LineProblem | { purpose: unknown } };

export const PURPOSES = ['batch'] as const;

/** The form's fields besides the file. `expires_after` is accepted and ignored: files are kept until deleted. */
export const UploadFieldsSchema = z.strictObject({
  purpose: z
    .string({ error: "Missing required parameter: 'purpose'." })
    .refine((p) => (PURPOSES as readonly string[]).includes(p), {
      error: (issue) => `Invalid value ${JSON.stringify(issue.input)}: only 'batch' is supported.`,
    }),
  expires_after: z
    .strictObject({
      anchor: z.literal('created_at'),
      seconds: z.coerce
        .number()
        .int()
        .min(3600)
        .max(30 * 24 * 3600),
    })
    .optional(),
});

export class ValidatingStorage implements multer.StorageEngine {
  private readonly outcomes = new WeakMap<Request, UploadOutcome>();

  constructor(private readonly files: FileStore) {}

  /** The outcome of the request's file part, once multer is done; undefined when there was none. */
  take(req: Request): UploadOutcome | undefined {
    const outcome = this.outcomes.get(req);
    this.outcomes.delete(req);
    return outcome;
  }

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void,
  ): void {
    this.receive(req, file).then(
      (outcome) => {
        this.outcomes.set(req, outcome);
        cb(null, { size: 'staged' in outcome ? outcome.staged.bytes : 0 });
      },
      (err: unknown) => cb(err),
    );
  }

  /** Multer calls this when the request fails after the file part was handled (a later limit, a client gone). */
  _removeFile(req: Request, _file: Express.Multer.File, cb: (error: Error | null) => void): void {
    const outcome = this.take(req);
    const discard = outcome && 'staged' in outcome ? outcome.staged.discard() : Promise.resolve();
    discard.then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }

  private async receive(req: Request, file: Express.Multer.File): Promise<UploadOutcome> {
    const stream = file.stream as AsyncIterable<Buffer>;
    // When the purpose came before the file and is wrong, the content is not worth reading.
    const purpose: unknown = (req.body as Record<string, unknown> | undefined)?.purpose;
    if (purpose !== undefined && !UploadFieldsSchema.shape.purpose.safeParse(purpose).success) {
      for await (const _ of stream) {
        // drain
      }
      return { problem: { purpose } };
    }
    // The tenant's items-per-batch quota bounds a file too: a file is one batch's input.
    const tenant = req.res?.locals.tenant as Tenant | undefined;
    const validator = new BatchFileValidator({
      maxLineBytes: V1_LIMITS.maxLineBytes,
      maxLines: Math.min(V1_LIMITS.maxLines, tenant?.quotas.itemsPerBatch ?? Infinity),
    });
    async function* checked(): AsyncIterable<Buffer> {
      for await (const chunk of stream) {
        // After the first problem, keep reading (and dropping) the part: multer must still see its end.
        if (!validator.problem && !validator.push(chunk)) yield chunk;
      }
      validator.end();
    }
    const staged = await this.files.stage(checked());
    if (validator.problem) {
      await staged.discard();
      return { problem: validator.problem };
    }
    return { staged, requests: validator.requests };
  }
}

/** Multer with the tenant's upload-size quota (one parser per distinct quota, made on first use). */
export function uploadMiddleware(storage: ValidatingStorage): RequestHandler {
  const bySize = new Map<number, RequestHandler>();
  const parserFor = (fileSize: number): RequestHandler => {
    const limits = {
      fileSize,
      files: 1,
      fields: V1_LIMITS.maxFormFields,
      fieldSize: V1_LIMITS.maxFormFieldBytes,
      parts: V1_LIMITS.maxFormFields + 1,
    };
    const parser = bySize.get(fileSize) ?? multer({ storage, limits }).single('file');
    bySize.set(fileSize, parser);
    return parser;
  };
  return (req, res, next) =>
    parserFor(Math.min(V1_LIMITS.maxUploadBytes, tenantOf(res).quotas.uploadBytes))(req, res, next);
}

export const parseUploadFields = (body: unknown): z.output<typeof UploadFieldsSchema> =>
  parseOr400(UploadFieldsSchema, body ?? {});
