/**
 * The OpenAPI 3.1 document of the whole HTTP API, generated from the route table (routes.ts) and the zod
 * schemas the handlers parse with, so that it follows them.
 */
import {
  createDocument,
  createSchema,
  type oas31,
  type ZodOpenApiOverride,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { version } from '../../../package.json';
import {
  BatchLineSchema,
  BatchModeSchema,
  BatchOptionsSchema,
  CreateBatchRequestSchema,
  PrioritySchema,
  SetConcurrencyRequestSchema,
  SetPriorityRequestSchema,
} from '../../shared/contracts';
import { SetLaneLimitRequestSchema } from '../../shared/laneLimits';
import { apiError, openAIError, TAGS, type RouteDoc } from './routeDoc';
import { ROUTES } from './routes';

/** The security scheme every route but the probes and this document requires. */
export const SECURITY_SCHEME = 'apiKey';

/** Request schemas shown as named components (the instances the handlers use, so references resolve to them). */
const NAMED_REQUEST_SCHEMAS = {
  CreateBatchRequest: CreateBatchRequestSchema,
  BatchLine: BatchLineSchema,
  BatchOptions: BatchOptionsSchema,
  BatchMode: BatchModeSchema,
  Priority: PrioritySchema,
  SetPriorityRequest: SetPriorityRequestSchema,
  SetConcurrencyRequest: SetConcurrencyRequestSchema,
  SetLaneLimitRequest: SetLaneLimitRequestSchema,
};

/** `METHOD /path` of a route, the form PLANNED_ROUTES and the coverage test use. */
export const routeKey = (r: Pick<RouteDoc, 'method' | 'path'>): string => `${r.method.toUpperCase()} ${r.path}`;

/** The route's answers with 401 (when it needs a key) and 500 in its API's error shape, by status. */
function responsesOf(route: RouteDoc): ZodOpenApiResponsesObject {
  const v1 = route.path === '/v1' || route.path.startsWith('/v1/');
  const error = (description: string, status: number) =>
    v1 ? openAIError(description, status) : apiError(description);
  const all: ZodOpenApiResponsesObject = { ...route.responses };
  if (route.auth !== false && !('401' in all))
    all['401'] = error('Missing, malformed or unknown API key (`Authorization: Bearer <key>`).', 401);
  if (!('500' in all)) all['500'] = error('Internal error.', 500);
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * A query parameter coerced, then piped into a schema (`z.coerce.number().pipe(PrioritySchema)`): zod renders
 * the input side (`number`), but what is accepted is the pipe's output, bounds included (`integer`, 1..5).
 */
const coercedPipeAsItsOutput: ZodOpenApiOverride = ({ zodSchema, jsonSchema, io }) => {
  const def = zodSchema._zod.def;
  if (io !== 'input' || def.type !== 'pipe' || !(def.in._zod.def as { coerce?: boolean }).coerce) return;
  const rendered = createSchema(def.out, { io: 'input' });
  if (Object.keys(rendered.components).length > 0) return; // it would refer to components this document lacks
  const { description } = jsonSchema;
  for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
  Object.assign(jsonSchema, rendered.schema, description === undefined ? {} : { description });
};

/**
 * Drops the schema components nothing refers to. zod-openapi renders each named request schema in both
 * directions and keeps the second (`BatchLineOutput`) even when no response uses it.
 */
function withoutUnusedSchemas(doc: oas31.OpenAPIObject): oas31.OpenAPIObject {
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const PREFIX = '#/components/schemas/';
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith(PREFIX)) {
          const name = value.slice(PREFIX.length);
          if (!used.has(name)) {
            used.add(name);
            visit(schemas[name]);
          }
        } else visit(value);
      }
    }
  };
  visit({ ...doc, components: { ...doc.components, schemas: {} } });
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } };
}

export function buildOpenApiDocument(routes: readonly RouteDoc[] = ROUTES): oas31.OpenAPIObject {
  const paths: ZodOpenApiPathsObject = {};
  const operationIds = new Set<string>();
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    if (item[route.method]) throw new Error(`OpenAPI: ${routeKey(route)} is documented twice`);
    if (operationIds.has(route.operationId)) throw new Error(`OpenAPI: operationId ${route.operationId} is used twice`);
    operationIds.add(route.operationId);
    item[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(route.params ? { requestParams: route.params } : {}),
      ...(route.body ? { requestBody: route.body } : {}),
      security: route.auth === false ? [] : [{ [SECURITY_SCHEME]: [] }],
      responses: responsesOf(route),
    };
  }
  const doc = createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'llmbatch',
        version,
        description:
          "Durable batches of LLM requests on Temporal. Two APIs: llmbatch's own (`/batches`, `/lanes`) and an " +
          "OpenAI-compatible one (`/v1/files`, `/v1/batches`; errors in OpenAI's shape). Every route but " +
          '`/healthz`, `/readyz`, `/metrics` and `/openapi.json` needs an API key.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      security: [{ [SECURITY_SCHEME]: [] }],
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key, sent as `Authorization: Bearer <key>`. The key names the tenant.',
          },
        },
        schemas: NAMED_REQUEST_SCHEMAS,
      },
      paths,
    },
    { override: coercedPipeAsItsOutput },
  );
  return withoutUnusedSchemas(doc);
}
