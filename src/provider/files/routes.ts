import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { SimulatorContext } from '../http/context';
import { limitParam, listPage, parseQuery } from '../http/query';
import { randomId } from '../ids';
import { ApiError, invalidRequest, notFound, toApiError } from '../openaiErrors';

/** Purposes a client may upload with; `batch_output` is reserved for files the simulator writes. */
const UPLOAD_PURPOSES = ['batch', 'assistants', 'fine-tune', 'vision', 'user_data', 'evals'];

const listQuery = z.object({
  purpose: z.string().optional(),
  after: z.string().optional(),
  limit: limitParam(10_000, 10_000),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export function filesRouter(ctx: SimulatorContext): Router {
  const router = Router();
  const storage = multer.diskStorage({
    destination: ctx.files.uploadDir,
    filename: (_req, _file, cb) => cb(null, randomId('upload-')),
  });

  router.post('/', (req, res, next) => {
    // Built per request so a runtime change of maxFileBytes applies to the next upload.
    const maxFileBytes = ctx.options.current.maxFileBytes;
    const upload = multer({ storage, limits: { fileSize: maxFileBytes, files: 1, fields: 20 } }).single('file');
    upload(req, res, (err: unknown) => {
      if (err !== undefined && err !== null) {
        next(uploadError(err, maxFileBytes));
        return;
      }
      adoptUpload(ctx, req).then((file) => res.json(file), next);
    });
  });

  router.get('/', (req, res) => {
    const query = parseQuery(listQuery, req.query);
    const { data, hasMore } = ctx.files.list(query);
    res.json(listPage(data, hasMore));
  });

  router.get('/:id', (req, res) => {
    res.json(requireFile(ctx, req.params.id));
  });

  const sendContent: RequestHandler<{ id: string }> = async (req, res) => {
    const file = requireFile(ctx, req.params.id);
    res.status(200).set({ 'content-type': 'application/octet-stream', 'content-length': String(file.bytes) });
    try {
      await pipeline(createReadStream(ctx.files.contentPath(file.id)), res);
    } catch (err) {
      // A client that stops reading mid-download is not a server error.
      if (!res.destroyed) throw err;
    }
  };
  router.get('/:id/content', sendContent);

  router.delete('/:id', async (req, res) => {
    requireFile(ctx, req.params.id);
    await ctx.files.delete(req.params.id);
    res.json({ id: req.params.id, object: 'file', deleted: true });
  });

  return router;
}

function requireFile(ctx: SimulatorContext, id: string) {
  const file = ctx.files.get(id);
  if (file === undefined) throw notFound(`No such File object: ${id}`, 'id');
  return file;
}

async function adoptUpload(ctx: SimulatorContext, req: Request) {
  const upload = req.file;
  if (upload === undefined)
    throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
  const purpose: unknown = (req.body as Record<string, unknown> | undefined)?.purpose;
  const problem =
    purpose === undefined || purpose === ''
      ? invalidRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter')
      : typeof purpose !== 'string' || !UPLOAD_PURPOSES.includes(purpose)
        ? invalidRequest(
            `Invalid value for 'purpose': ${JSON.stringify(purpose)}. Supported values are: ` +
              `${UPLOAD_PURPOSES.join(', ')}.`,
            'purpose',
            'invalid_value',
          )
        : purpose === 'batch' && !upload.originalname.endsWith('.jsonl')
          ? invalidRequest('Invalid file format for Batch API. Must be .jsonl', 'file', 'invalid_file_format')
          : undefined;
  if (problem !== undefined) {
    await rm(upload.path, { force: true });
    throw problem;
  }
  return ctx.files.adoptUpload(upload.path, upload.originalname, purpose as string);
}

function uploadError(err: unknown, maxFileBytes: number): ApiError {
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') {
      return new ApiError(
        413,
        `File is too large: the maximum size is ${maxFileBytes} bytes.`,
        'invalid_request_error',
        'file',
        'file_too_large',
      );
    }
    return invalidRequest(
      `Invalid upload: ${err.message}${err.field ? ` (field '${err.field}')` : ''}.`,
      err.field ?? null,
      'invalid_upload',
    );
  }
  return toApiError(err);
}
