/**
 * The OpenAI-compatible API, mounted at /v1: code written for OpenAI's Files and Batches APIs (the
 * official client's files.* and batches.*) works against llmbatch by changing its baseURL.
 * Files: files.ts (uploads: upload.ts); batches: batches.ts (creation: batchCreation.ts); the objects and
 * the status mapping: objects.ts.
 *
 * Returns the router and the /v1 error handler as one list for `app.use('/v1', ...)`: mounted there, the
 * error handler also answers errors raised before the router (the app's JSON body parser) in OpenAI's shape.
 */
import type { Client } from '@temporalio/client';
import { Router, type ErrorRequestHandler } from 'express';
import type { Config } from '../../config';
import { LocalFileStore, type FileStore } from '../../storage/files';
import type { BatchStore } from '../../storage/types';
import type { BatchCreator } from '../createBatch';
import { batchesRouter } from './batches';
import { notFound, v1ErrorHandler } from './errors';
import { filesRouter } from './files';
import { V1Service } from './service';

export interface V1RouterDeps {
  client: Client;
  store: BatchStore;
  /** Uploaded files; by default the embedded store under the data dir. */
  files?: FileStore;
  config: Config;
  creator: BatchCreator;
}

export function v1Router({ client, store, files, config, creator }: V1RouterDeps): [Router, ErrorRequestHandler] {
  const service = new V1Service({ client, store, files: files ?? new LocalFileStore(config.dataDir), config, creator });
  const router = Router();
  router.use(filesRouter(service));
  router.use(batchesRouter(service));
  router.use((req, _res, next) => next(notFound(`Unknown request URL: ${req.method} /v1${req.path}.`, null)));
  return [router, v1ErrorHandler];
}
