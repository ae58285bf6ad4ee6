/**
 * /v1/files: uploads (purpose "batch", checked line by line as they stream in), and the output and error
 * files of batches, which are virtual (served from the BatchStore's results, never copied).
 *   POST   /v1/files              multipart {file, purpose: "batch"}
 *   GET    /v1/files              uploaded files, newest first (after, limit, order, purpose)
 *   GET    /v1/files/:id          a file object
 *   GET    /v1/files/:id/content  the bytes
 *   DELETE /v1/files/:id          uploaded files only
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { FileStore, StoredFile } from '../../storage/files';
import { tenantOf } from '../auth';
import { invalidRequest, notFound, parseOr400, V1Error } from './errors';
import { newFileId, parseResultFileId, UPLOADED_FILE_ID } from '../ids';
import { V1_LIMITS } from './limits';
import { describeProblem } from '../lines';
import { fileObject, listPage, type FileObject } from './objects';
import type { V1Service } from './service';
import { parseUploadFields, uploadMiddleware, ValidatingStorage } from './upload';

export const ListFilesQuerySchema = z.strictObject({
  after: z.string().regex(UPLOADED_FILE_ID, 'expected a file id').optional(),
  limit: z.coerce.number().int().min(1).max(V1_LIMITS.fileListMax).default(V1_LIMITS.fileListDefault),
  order: z.enum(['asc', 'desc']).default('desc'),
  purpose: z.string().max(64).optional(),
});

async function writeAll(res: Response, lines: AsyncIterable<string | Buffer>): Promise<void> {
  try {
    for await (const line of lines) {
      if (res.destroyed) return; // the client left
      if (!res.write(line)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  } catch (err) {
    // Headers are out: all that can be done is to cut the response short, so the client sees it incomplete.
    res.destroy(err as Error);
  }
}

/** An uploaded file of the caller's tenant; another tenant's is as absent as a missing one. */
async function ownFile(files: FileStore, res: Response, id: string): Promise<StoredFile | undefined> {
  const stored = await files.get(id);
  return stored?.tenant === tenantOf(res).id ? stored : undefined;
}

const noSuchFile = (id: string) => notFound(`No such File object: ${id}`, 'id');

/** A file of the caller's tenant, uploaded or virtual (a batch's output or error file), and its content. */
async function findFile(
  service: V1Service,
  res: Response,
  id: string,
): Promise<{ object: FileObject; content: () => Promise<AsyncIterable<string | Buffer> | undefined> } | undefined> {
  const result = parseResultFileId(id);
  if (result) {
    const file = await service.resultFile(tenantOf(res).id, result.batchId, result.kind, id);
    return file && { object: file.file, content: async () => file.lines() };
  }
  const { files } = service.deps;
  const stored = await ownFile(files, res, id);
  return stored && { object: fileObject(stored), content: () => files.open(id) };
}

/** POST /v1/files once multer is done: the file committed if it and the form's fields passed, else a 400. */
async function commitUpload(storage: ValidatingStorage, req: Request, res: Response): Promise<void> {
  const outcome = storage.take(req);
  try {
    const fields = parseUploadFields(req.body);
    if (!outcome || !req.file)
      throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
    if ('problem' in outcome) {
      const { problem } = outcome;
      if ('purpose' in problem)
        throw invalidRequest(
          `Invalid 'purpose': ${JSON.stringify(problem.purpose)}; only 'batch' is supported.`,
          'purpose',
          'invalid_value',
        );
      throw invalidRequest(`Invalid file: ${describeProblem(problem)}`, 'file', problem.code);
    }
    const filename = req.file.originalname;
    if (filename.length > V1_LIMITS.maxFilenameLength)
      throw invalidRequest(
        `Invalid file: the filename is longer than ${V1_LIMITS.maxFilenameLength} characters.`,
        'file',
        'invalid_filename',
      );
    const stored = await outcome.staged.commit({
      id: newFileId(),
      createdAt: Date.now(),
      filename,
      purpose: fields.purpose,
      tenant: tenantOf(res).id,
    });
    res.json(fileObject(stored));
  } finally {
    if (outcome && 'staged' in outcome) await outcome.staged.discard(); // nothing after a commit
  }
}

export function filesRouter(service: V1Service): Router {
  const { files } = service.deps;
  const router = Router();
  const storage = new ValidatingStorage(files);

  router.post('/files', uploadMiddleware(storage), async (req, res) => {
    await commitUpload(storage, req, res);
  });

  router.get('/files', async (req, res) => {
    const query = parseOr400(ListFilesQuerySchema, req.query);
    const { data, hasMore } = await files.list({ ...query, tenant: tenantOf(res).id });
    const objects = data.map(fileObject);
    res.json(listPage(objects, hasMore));
  });

  router.get('/files/:id', async (req, res) => {
    const file = await findFile(service, res, req.params.id);
    if (!file) throw noSuchFile(req.params.id);
    res.json(file.object);
  });

  router.get('/files/:id/content', async (req, res) => {
    const file = await findFile(service, res, req.params.id);
    const content = await file?.content();
    if (!file || !content) throw noSuchFile(req.params.id); // also: deleted between the two reads
    res.status(200).type('application/octet-stream').set('content-length', String(file.object.bytes));
    await writeAll(res, content);
  });

  router.delete('/files/:id', async (req, res) => {
    const { id } = req.params;
    const result = parseResultFileId(id);
    if (result) {
      if (!(await service.record(tenantOf(res).id, result.batchId))) throw noSuchFile(id);
      throw new V1Error(
        400,
        `File ${id} is the output of a batch and is kept with it: it cannot be deleted.`,
        'id',
        'unsupported',
      );
    }
    if (!(await ownFile(files, res, id)) || !(await files.delete(id))) throw noSuchFile(id);
    res.json({ id, object: 'file', deleted: true });
  });

  return router;
}
