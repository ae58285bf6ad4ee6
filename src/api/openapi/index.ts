/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the whole HTTP API (document.ts), built on first
 * request and then served from memory. Open: no API key needed.
 */
import { Router } from 'express';
import { buildOpenApiDocument } from './document';

export { buildOpenApiDocument, routeKey, SECURITY_SCHEME } from './document';
export type { RouteDoc } from './routeDoc';
export { PLANNED_ROUTES, ROUTES } from './routes';

export function openApiRouter(): Router {
  const router = Router();
  // Built on first use, not at start-up: a document that fails to build breaks this route, not the API.
  let body: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument());
    res.type('application/json').send(body);
  });
  return router;
}
