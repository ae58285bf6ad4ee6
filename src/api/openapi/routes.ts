/**
 * Every route of the HTTP API, as one table: the OpenAPI document (document.ts) is generated from it. The
 * entries are in projectRoutes.ts, pipelineRoutes.ts, requestRoutes.ts and v1Routes.ts; their request schemas
 * are the ones the handlers parse with, so the document follows them; response schemas are in responses.ts and
 * v1Responses.ts, checked against the TypeScript types at compile time.
 *
 * To document a route: add an entry (method, path with `{param}`s, operationId, summary, tags, params, body,
 * responses; see RouteDoc in routeDoc.ts). document.ts adds, per entry, the security requirement and the 401
 * and 500 answers in the right error shape (the project's, or OpenAI's under /v1). test/api/openapi.test.ts
 * fails for a route in the source that ROUTES lacks, and for an entry that no route in the source serves
 * (unless it is listed in PLANNED_ROUTES).
 */
import { PIPELINE_ROUTES } from './pipelineRoutes';
import { PROJECT_ROUTES } from './projectRoutes';
import { SCHEDULE_ROUTES } from './scheduleRoutes';
import { REQUEST_ROUTES } from './requestRoutes';
import type { RouteDoc } from './routeDoc';
import { V1_ROUTES } from './v1Routes';

/**
 * Routes documented ahead of their handlers, as `METHOD /path` (OpenAPI form). The coverage test accepts
 * these in the document without a route in the source, and fails once a route here does exist in the
 * source: then check its entry against the handler and take it off this list. Empty: strict both ways.
 */
export const PLANNED_ROUTES: readonly string[] = [];

export const ROUTES: readonly RouteDoc[] = [
  ...PROJECT_ROUTES,
  ...PIPELINE_ROUTES,
  ...SCHEDULE_ROUTES,
  ...REQUEST_ROUTES,
  ...V1_ROUTES,
];
