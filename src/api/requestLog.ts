/**
 * One log line per HTTP request (pino-http): method, route pattern, path, status, duration, request id and
 * tenant. No headers (they carry keys) and no bodies (they carry prompts). The request id is the caller's
 * `x-request-id` when it is a plain token, else a new UUID, and is echoed in the response's `x-request-id`;
 * `req.log` carries it into any line the handlers write.
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Tenant } from '../config';
import type { Logger } from '../logging/logger';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller's request id may look like: a UUID, a trace id, a short token; anything else is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probes and scrapes come every few seconds: their successes are debug lines, not info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function requestId(req: Request, res: Response): string {
  const given = req.get(REQUEST_ID_HEADER);
  const id = given !== undefined && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

const pathOf = (req: Request): string => req.originalUrl.split('?')[0] ?? req.originalUrl;

/**
 * The matched route's pattern (`/v1/batches/:batch_id`), or undefined for a request no route took. A router's
 * mount point is read from `res.locals.routeBase` where app.ts records it: an error leaving a router resets baseUrl.
 */
function routeOf(req: Request, res: Response): string | undefined {
  const route = req.route as { path?: unknown } | undefined;
  const base = typeof res.locals.routeBase === 'string' ? res.locals.routeBase : req.baseUrl;
  return typeof route?.path === 'string' ? `${base}${route.path}` : undefined;
}

function requestLine(req: Request, res: Response, durationMs: number): Record<string, unknown> {
  return {
    method: req.method,
    route: routeOf(req, res),
    path: pathOf(req),
    status: res.statusCode,
    durationMs,
    tenant: (res.locals.tenant as Tenant | undefined)?.id,
  };
}

export function requestLogger(logger: Logger) {
  return pinoHttp<Request, Response>({
    logger,
    genReqId: requestId,
    // Only the fields of requestLine: pino-http's defaults would log every header.
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return 'error';
      return QUIET_PATHS.has(pathOf(req)) && res.statusCode < 400 ? 'debug' : 'info';
    },
    customSuccessObject: (req, res, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, _err, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customSuccessMessage: (req, res) => `${req.method} ${routeOf(req, res) ?? pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${routeOf(req, res) ?? pathOf(req)} ${res.statusCode}`,
  });
}
