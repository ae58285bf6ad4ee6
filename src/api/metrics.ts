/**
 * GET /metrics: the API's Prometheus metrics (src/metrics/apiMetrics.ts; docs/metrics.md). No API key, like
 * the probes: it names no batch, key or prompt, and Prometheus scrapes without credentials. Bind the API to
 * a private interface, or filter /metrics at the proxy, where the counts themselves are not to be shown.
 */
import type { Client } from '@temporalio/client';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config';
import type { ApiMetrics, ApiMetricsSources, LaneLimit } from '../metrics/apiMetrics';
import type { BatchStore } from '../storage/types';
import { describeLane, laneQueues } from './lanes';
import { OpenBatches } from './openBatches';

export interface MetricsDeps {
  client: Client;
  store: BatchStore;
  config: Config;
  metrics: ApiMetrics;
}

export function metricsRouter({ client, store, config, metrics }: MetricsDeps): Router {
  const router = Router();
  const sources = metricsSources(client, store, config);
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.render(sources);
    res.set('content-type', metrics.contentType).send(text);
  });
  return router;
}

function metricsSources(client: Client, store: BatchStore, config: Config): ApiMetricsSources {
  const open = new OpenBatches({ client, store, config });
  return {
    openBatches: (max) => open.list(max),
    laneLimits: async () => {
      const lanes = await Promise.all(laneQueues(config).map((q) => describeLane(client, config, q)));
      return lanes.flatMap((lane): LaneLimit[] => {
        const taskQueue = lane.taskQueue;
        const candidates: LaneLimit[] = [
          { taskQueue, limit: 'rpm', source: 'configured', value: lane.startupLimits.rpm },
          { taskQueue, limit: 'tpm', source: 'configured', value: lane.startupLimits.tpm },
          { taskQueue, limit: 'rpm', source: 'server', value: lane.limit.maxRequestsPerMinute ?? 0 },
          { taskQueue, limit: 'tpm', source: 'server', value: lane.limit.maxTokensPerMinute ?? 0 },
        ];
        // 0 is "no limit": no series, rather than a limit of zero.
        return candidates.filter((l) => l.value > 0);
      });
    },
  };
}

/** Where a router is mounted (`app.use('/v1', routeBase, router)`): an error leaving the router resets baseUrl. */
export function routeBase(req: Request, res: Response, next: NextFunction): void {
  res.locals.routeBase = req.baseUrl;
  next();
}

/**
 * Counts every answered request by its route pattern (`/batches/:id`, never the path with its id);
 * a request no route matched (404, or refused before routing: 401, 413) counts as `unmatched`. A handler that
 * serves many paths without a route pattern (the console's files) names its route in `res.locals.metricsRoute`.
 */
export function httpMetrics(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const pattern = (req.route as { path?: unknown } | undefined)?.path;
      const base = typeof res.locals.routeBase === 'string' ? res.locals.routeBase : '';
      const named: unknown = res.locals.metricsRoute;
      const route = typeof named === 'string' ? named : typeof pattern === 'string' ? `${base}${pattern}` : 'unmatched';
      metrics.httpRequest(req.method, route, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
}
