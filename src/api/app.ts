/**
 * The HTTP API, built from its dependencies (the Temporal client is made once, at start-up):
 *   GET /healthz, /readyz         probes (no key)
 *   /batches...                   the project API (batches.ts)
 *   GET /lanes, PUT /lanes/limits rate-limit lanes (lanes.ts; changing them needs an admin key)
 *   /schedules...                 recurring batches on Temporal Schedules (schedules/)
 *   /requests...                  single requests, gathered into batches (requests.ts)
 *   /v1/files, /v1/batches        OpenAI-compatible (v1/)
 *   GET /openapi.json             OpenAPI 3.1 of all of it, generated from the zod schemas (openapi/)
 *   GET /metrics                  Prometheus metrics (metrics.ts; no key, like the probes)
 *   GET /console                  the web console, a page that calls the routes above (console.ts; the page asks
 *                                 for the key, so loading it needs none)
 * Every route but the probes and /metrics needs an API key (auth.ts), except in local mode.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logging/logger';
import { ApiMetrics } from '../metrics/apiMetrics';
import { LocalFileStore, type FileStore } from '../storage/files';
import { FileRequestStore, type RequestStore } from '../storage/requests';
import type { SlotStore } from '../storage/slots';
import type { BatchStore } from '../storage/types';
import { authenticate, tenantOf } from './auth';
import { batchesRouter } from './batches';
import { pipelinesRouter } from './pipelines';
import { consoleRouter } from './console';
import { BatchCreator } from './createBatch';
import { HttpError } from './httpError';
import { lanesRouter } from './lanes';
import { httpMetrics, metricsRouter, routeBase } from './metrics';
import { BatchWatch } from './batchWatch';
import { openApiRouter } from './openapi';
import { requestLogger } from './requestLog';
import { schedulesRouter } from './schedules';
import { requestsRouter } from './requests';
import { v1Router } from './v1';

export interface ApiDeps {
  client: Client;
  store: BatchStore;
  /** Uploaded files (/v1/files); by default the embedded store under the data dir. */
  files?: FileStore;
  /** Concurrent-batch slots shared by API replicas (PostgreSQL); without, one process counts its own. */
  slots?: SlotStore;
  /** Single requests gathered into batches (POST /requests); by default the file store's under the data dir. */
  requests?: RequestStore;
  /** Resolves when the data plane answers (PostgreSQL's `SELECT 1`); absent for the file store. */
  checkDatabase?: () => Promise<void>;
  config: Config;
  /** The API's Prometheus metrics (GET /metrics); by default a registry of this app's own, without Node's metrics. */
  metrics?: ApiMetrics;
  /** One line per request and the errors (apiMain passes the process's); by default none (tests). */
  logger?: Logger;
}

/** Documented limit on a JSON request body (a tenant's upload quota may be lower). */
export const MAX_JSON_BODY = '100mb';

export function createApp(deps: ApiDeps): express.Express {
  const { client, store, files, slots, checkDatabase, config } = deps;
  const metrics = deps.metrics ?? new ApiMetrics();
  const app = express();
  const creator = new BatchCreator({ client, store, config, slots, metrics });
  app.use(requestLogger(deps.logger ?? createLogger({ level: 'silent', name: 'api' })));
  app.use(httpMetrics(metrics));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/readyz', async (_req, res) => {
    const [temporal, database] = await Promise.all([
      client.workflowService.getSystemInfo({}).then(
        () => undefined,
        (err: Error) => `Temporal is not reachable: ${err.message}`,
      ),
      checkDatabase
        ? checkDatabase().then(
            () => undefined,
            (err: Error) => `PostgreSQL is not reachable: ${err.message}`,
          )
        : undefined,
    ]);
    const checks = {
      temporal: temporal ? 'down' : 'ok',
      database: checkDatabase ? (database ? 'down' : 'ok') : 'none (file store)',
    };
    const problem = temporal ?? database;
    if (problem) res.status(503).json({ ok: false, checks, error: { message: problem } });
    else res.json({ ok: true, checks });
  });

  app.use(openApiRouter());
  app.use(metricsRouter({ client, store, config, metrics }));
  app.use(consoleRouter({ config }));

  // Keys are checked before bodies are read: an unauthenticated request costs no parsing.
  app.use(authenticate(config.auth));
  app.use(uploadQuota);
  app.use(express.json({ limit: MAX_JSON_BODY }));

  // One long poll per batch for everything in this process that waits on one.
  const watch = new BatchWatch(client);
  app.use(batchesRouter({ client, store, config, creator, watch }));
  app.use(pipelinesRouter({ store, config, creator }));
  app.use(lanesRouter({ client, config }));
  app.use(schedulesRouter({ client, files: files ?? new LocalFileStore(config.dataDir), config, creator }));
  const requests = deps.requests ?? new FileRequestStore(config.dataDir);
  app.use(requestsRouter({ client, store, config, requests, watch }));
  app.use('/v1', routeBase, v1Router({ client, store, files, config, creator }));

  app.use((_req, _res, next) => next(new HttpError(404, 'route not found', undefined, 'not_found')));
  app.use(errorHandler);
  return app;
}

/** A declared body larger than the tenant's upload quota is refused before it is read. */
function uploadQuota(req: Request, res: Response, next: NextFunction): void {
  const declared = Number(req.get('content-length') ?? 0);
  const max = tenantOf(res).quotas.uploadBytes;
  if (declared > max)
    return next(
      new HttpError(
        413,
        `the body is larger than ${max} bytes, the tenant's limit (upload size)`,
        undefined,
        'quota_exceeded',
      ),
    );
  next();
}

/** The project API's one error shape: `{error: {message, code?, details?}}`. */
function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof WorkflowNotFoundError) {
    res.status(404).json({ error: { message: 'batch not found', code: 'not_found' } });
    return;
  }
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: { message: err.message, code: err.code, details: err.details } });
    return;
  }
  const status = (err as { status?: number; type?: string }).status;
  if (status && status >= 400 && status < 500) {
    // body-parser errors: malformed JSON, body too large
    res.status(status).json({ error: { message: (err as Error).message } });
    return;
  }
  req.log.error({ err }, 'internal error');
  res.status(500).json({ error: { message: 'internal error' } });
}
