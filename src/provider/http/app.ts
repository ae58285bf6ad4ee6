import express, { type Express, type RequestHandler } from 'express';
import { batchesRouter } from '../batches/routes';
import { MODEL_ENDPOINTS } from '../endpoints/registry';
import { filesRouter } from '../files/routes';
import { randomId } from '../ids';
import { ApiError, errorMiddleware, sendApiError } from '../openaiErrors';
import type { SimulatorContext } from './context';
import { realtimeHandler, statsRoute } from './realtimeRoutes';
import { simRouter } from './simRoutes';

/** Real chat bodies are small, but batch-sized prompts exist; stay generous. */
const JSON_LIMIT = '64mb';

/** The Express app of the simulator, without a listening server (tests may mount it anywhere). */
export function createSimulatorApp(ctx: SimulatorContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((_req, res, next) => {
    res.set('x-request-id', randomId('req_', 16));
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use('/_sim', express.json({ limit: JSON_LIMIT }), simRouter(ctx));

  app.use('/v1', countResponses(ctx), authenticate(ctx));
  app.use('/v1/files', filesRouter(ctx));
  app.use('/v1/batches', express.json({ limit: JSON_LIMIT }), batchesRouter(ctx));
  for (const endpoint of MODEL_ENDPOINTS) {
    app.post(endpoint, express.json({ limit: JSON_LIMIT }), realtimeHandler(ctx, endpoint));
  }

  app.use((req, res) => {
    res.locals.statsRoute = 'unmatched';
    sendApiError(res, new ApiError(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error'));
  });
  app.use(errorMiddleware);
  return app;
}

/**
 * Count every /v1 request once, by route and outcome: the status code, or
 * "aborted" when the client left before an answer. Hangs are counted as
 * "hung" where they are decided.
 */
function countResponses(ctx: SimulatorContext): RequestHandler {
  return (req, res, next) => {
    const route = (): string => (typeof res.locals.statsRoute === 'string' ? res.locals.statsRoute : statsRoute(req));
    res.on('close', () => {
      if (res.writableFinished) ctx.stats.recordResponse(route(), res.statusCode);
      else if (res.locals.hung !== true) ctx.stats.recordResponse(route(), 'aborted');
    });
    next();
  };
}

function authenticate(ctx: SimulatorContext): RequestHandler {
  return (req, res, next) => {
    const expected = ctx.options.current.apiKey;
    if (expected === undefined) {
      next();
      return;
    }
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match === null) {
      sendApiError(
        res,
        new ApiError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
            'Bearer auth (i.e. Authorization: Bearer YOUR_KEY).',
          'invalid_request_error',
        ),
      );
      return;
    }
    if (match[1] !== expected) {
      const key = match[1] ?? '';
      const shown = key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : '*****';
      sendApiError(
        res,
        new ApiError(401, `Incorrect API key provided: ${shown}.`, 'invalid_request_error', null, 'invalid_api_key'),
      );
      return;
    }
    next();
  };
}
