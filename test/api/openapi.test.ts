/**
 * The OpenAPI document (src/api/openapi): valid OpenAPI 3.1, every route of the source documented (and
 * nothing documented that no route serves, but for PLANNED_ROUTES), generated from the real schemas, and
 * served at GET /openapi.json. No Temporal needed.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { buildOpenApiDocument, openApiRouter, PLANNED_ROUTES, ROUTES } from '../../src/api/openapi';
import { V1_LIMITS } from '../../src/api/v1/limits';
import { LIMITS, PrioritySchema, SUPPORTED_URLS } from '../../src/shared/contracts';

const ROOT = path.resolve(__dirname, '../..');
const SRC_API = path.join(ROOT, 'src/api');
/** Where the routers of src/api are mounted: files under `v1/` serve below `/v1` (app.use('/v1', v1Router)). */
const MOUNTS: Array<[dir: string, prefix: string]> = [['v1/', '/v1']];
/** Routes that need no API key. */
const OPEN_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /metrics'];
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

type Doc = ReturnType<typeof buildOpenApiDocument>;
/** The document read as plain JSON (its paths and schemas are walked by key). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/**
 * `@seriousme/openapi-schema-validator` is an ES module, which Jest's CommonJS runtime cannot load:
 * it runs in a child node process, given the document on stdin.
 */
function validateOpenApi(doc: unknown): Promise<{ valid: boolean; errors?: unknown; version: string }> {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(input));
    process.stdout.write(JSON.stringify({ ...result, version: validator.version }));`;
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`validator failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin?.end(JSON.stringify(doc));
  });
}

/** `METHOD /path/{}`: parameter names do not matter when comparing the source with the document. */
const normalize = (key: string): string => key.replace(/\{[^}]*\}/g, '{}');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * A route path with `${v}` inside a helper, `const NAME = (..., v, ...) =>` or `function NAME(..., v, ...)`
 * (the nearest before the route): one path per `NAME(...)` call in the file whose argument there is a
 * string literal. Undefined when that cannot be read.
 */
function expandTemplate(text: string, at: number, routePath: string): string[] | undefined {
  const vars = [...routePath.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string);
  if (vars.length !== 1) return undefined;
  const v = vars[0] as string;
  const helpers = [
    ...text
      .slice(0, at)
      .matchAll(/(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\(([^)]*)\)[^=]*=>|function\s+(\w+)\s*\(([^)]*)\)/g),
  ]
    .map((d) => ({
      name: (d[1] ?? d[3]) as string,
      params: (d[2] ?? d[4] ?? '').split(',').map((p) => p.trim().split(/[\s:?=]/)[0]),
    }))
    .filter((h) => h.params.includes(v));
  const helper = helpers.at(-1);
  if (!helper) return undefined;
  const k = helper.params.indexOf(v);
  const values = [...text.matchAll(new RegExp(`\\b${helper.name}\\(([^)]*)\\)`, 'g'))].map(
    (c) => /^(['"])([^'"]*)\1$/.exec((c[1] as string).split(',')[k]?.trim() ?? '')?.[2],
  );
  if (values.length === 0 || values.some((x) => x === undefined)) return undefined;
  return values.map((x) => routePath.replace(`\${${v}}`, x as string));
}

/**
 * The routes the source of src/api declares: `<x>.get|post|put|delete|patch('/path', ...)` calls, with the
 * mount prefix of the file's directory, as `METHOD /path/{param}`. Express 5 keeps no mount paths as
 * strings, so the routes are read from the source. Matches on comment lines are skipped.
 */
function sourceRoutes(): { routes: Map<string, string>; unreadable: string[] } {
  const routes = new Map<string, string>(); // key → where
  const unreadable: string[] = [];
  const call = /\b\w+\.(get|post|put|delete|patch)\(\s*(['"`])(\/[^'"`]*)\2/g;
  for (const file of tsFiles(SRC_API)) {
    const rel = path.relative(SRC_API, file).split(path.sep).join('/');
    const prefix = MOUNTS.find(([dir]) => rel.startsWith(dir))?.[1] ?? '';
    const text = readFileSync(file, 'utf8');
    const lineOf = (index: number): { n: number; text: string } => {
      const start = text.lastIndexOf('\n', index - 1) + 1;
      const end = text.indexOf('\n', index);
      return { n: text.slice(0, index).split('\n').length, text: text.slice(start, end === -1 ? undefined : end) };
    };
    const isComment = (line: string): boolean => /^\s*(\/\/|\*|\/\*)/.test(line);
    for (const m of text.matchAll(call)) {
      const line = lineOf(m.index);
      if (isComment(line.text)) continue;
      const [, method, quote, routePath] = m as unknown as [string, string, string, string];
      const where = `src/api/${rel}:${line.n}`;
      const paths = quote === '`' && routePath.includes('${') ? expandTemplate(text, m.index, routePath) : [routePath];
      if (!paths) {
        unreadable.push(`${where}: ${m[0]}`);
        continue;
      }
      for (const p of paths) routes.set(`${method.toUpperCase()} ${`${prefix}${p}`.replace(/:(\w+)/g, '{$1}')}`, where);
    }
    for (const m of text.matchAll(/\.route\(\s*['"`]/g)) {
      const line = lineOf(m.index);
      if (!isComment(line.text))
        unreadable.push(`src/api/${rel}:${line.n}: router.route(...) is not read by this scan`);
    }
  }
  return { routes, unreadable };
}

/** The source's routes against the document's, parameter names aside. */
function coverage(doc: Doc, source: Map<string, string>) {
  const documented = new Set(documentedRoutes(doc).map(normalize));
  const sourceKeys = new Set([...source.keys()].map(normalize));
  const planned = new Set(PLANNED_ROUTES.map(normalize));
  const docOnly = documentedRoutes(doc).filter((key) => !sourceKeys.has(normalize(key)));
  return {
    undocumented: [...source]
      .filter(([key]) => !documented.has(normalize(key)))
      .map(([key, where]) => `${key} (${where})`),
    docOnly,
    unplanned: docOnly.filter((key) => !planned.has(normalize(key))),
    landed: PLANNED_ROUTES.filter((key) => sourceKeys.has(normalize(key))),
  };
}

function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths ?? {}).flatMap(([p, item]) =>
    METHODS.filter((m) => (item as Json)[m]).map((m) => `${m.toUpperCase()} ${p}`),
  );
}

/** Follows `$ref`s into components.schemas. */
function deref(doc: Doc, schema: Json | undefined): Json {
  let s = schema;
  for (let i = 0; s && typeof s.$ref === 'string' && i < 20; i++) {
    s = (doc.components?.schemas as Json)[s.$ref.replace('#/components/schemas/', '')];
  }
  if (!s) throw new Error('unresolvable schema');
  return s;
}

const operation = (doc: Doc, method: string, p: string): Json => {
  const paths: Json = doc.paths ?? {};
  const op: Json | undefined = paths[p]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${p} is not in the document`);
  return op;
};
const jsonBody = (doc: Doc, method: string, p: string): Json =>
  deref(doc, operation(doc, method, p).requestBody.content['application/json'].schema);
const queryParam = (doc: Doc, method: string, p: string, name: string): Json => {
  const param = (operation(doc, method, p).parameters as Json[]).find((x) => x.in === 'query' && x.name === name);
  if (!param) throw new Error(`no query parameter ${name}`);
  return deref(doc, param.schema);
};

describe('OpenAPI document', () => {
  let doc: Doc;
  beforeAll(() => {
    doc = buildOpenApiDocument();
  });

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const result = await validateOpenApi(doc);
    expect(result.errors).toBeUndefined();
    expect(result).toMatchObject({ valid: true, version: '3.1' });
  });

  it('the validator does reject a broken document (the check above can fail)', async () => {
    const broken = JSON.parse(JSON.stringify(doc));
    delete broken.paths['/healthz'].get.responses;
    broken.paths['/batches/{batch_id}'].get.parameters[0].in = 'body';
    expect((await validateOpenApi(broken)).valid).toBe(false);
  });

  it('documents every route of the source, and only those (but for PLANNED_ROUTES)', () => {
    const { routes: source, unreadable } = sourceRoutes();
    expect(unreadable).toEqual([]);
    // Sanity: the scan finds routes of each router.
    expect([...source.keys()]).toEqual(
      expect.arrayContaining([
        'GET /healthz',
        'POST /batches',
        'POST /batches/{id}/pause',
        'PUT /lanes/limits',
        'POST /v1/files',
        'POST /v1/batches/{id}/cancel',
        'GET /openapi.json',
      ]),
    );

    const { undocumented, docOnly, unplanned, landed } = coverage(doc, source);
    expect(undocumented).toEqual([]); // add them to ROUTES in src/api/openapi/routes.ts
    if (docOnly.length > 0) console.log(`Documented ahead of their handlers (PLANNED_ROUTES): ${docOnly.join(', ')}`);
    expect(unplanned).toEqual([]); // documented, and no handler serves them
    // now served: check their entries against the handlers, and take them off PLANNED_ROUTES
    expect(landed).toEqual([]);
  });

  it('the coverage check names a route the document lacks, and a documented route nothing serves', () => {
    const { routes: source } = sourceRoutes();
    const without = buildOpenApiDocument(ROUTES.filter((r) => r.operationId !== 'getBatchResults'));
    expect(coverage(without, source).undocumented).toEqual([
      expect.stringMatching(/^GET \/batches\/\{id\}\/results \(src\/api\/.+\.ts:\d+\)$/),
    ]);
    const extra = new Map(source);
    extra.delete('GET /v1/files/{id}/content');
    expect(coverage(doc, extra).unplanned).toEqual(['GET /v1/files/{file_id}/content']);
  });

  it('declares each path template parameter, with unique operationIds', () => {
    const ids = new Set<string>();
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const m of METHODS) {
        const op = (item as Json)[m] as Json | undefined;
        if (!op) continue;
        const declared = ((op.parameters ?? []) as Json[])
          .filter((x) => x.in === 'path')
          .map((x) => x.name as string)
          .sort();
        expect({ route: `${m} ${p}`, params: declared }).toEqual({ route: `${m} ${p}`, params: inPath });
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
      }
    }
    expect(ids.size).toBe(ROUTES.length);
  });

  it('asks for the bearer API key on every route but the probes and itself', () => {
    expect(doc.components?.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    for (const key of documentedRoutes(doc)) {
      const [method, p] = key.split(' ') as [string, string];
      const op = operation(doc, method.toLowerCase(), p);
      if (OPEN_ROUTES.includes(key)) {
        expect({ key, security: op.security }).toEqual({ key, security: [] });
      } else {
        expect({ key, security: op.security }).toEqual({ key, security: [{ apiKey: [] }] });
        expect(op.responses['401']).toBeDefined();
      }
    }
  });

  it('errors have the shape of their API: the project one, or OpenAI under /v1 (with x-should-retry on 4xx)', () => {
    const projectError = operation(doc, 'post', '/batches').responses['400'].content['application/json'].schema;
    expect(deref(doc, projectError).properties.error.required).toEqual(['message']);
    const v1Error = operation(doc, 'post', '/v1/batches').responses['400'];
    expect(deref(doc, v1Error.content['application/json'].schema).properties.error.required).toEqual([
      'message',
      'type',
      'param',
      'code',
    ]);
    expect(v1Error.headers['x-should-retry']).toBeDefined();
    expect(operation(doc, 'get', '/v1/files').responses['500'].headers).toBeUndefined();
  });

  it('follows the real request schemas', () => {
    // Priority: PrioritySchema's bounds.
    const priority = deref(doc, jsonBody(doc, 'post', '/batches/{batch_id}/priority').properties.priority);
    expect([priority.minimum, priority.maximum]).toEqual([PrioritySchema.minValue, PrioritySchema.maxValue]);
    expect([priority.minimum, priority.maximum]).toEqual([1, 5]);
    expect(priority.type).toBe('integer');

    // POST /batches: limits and the two content types.
    const create = jsonBody(doc, 'post', '/batches');
    expect(create.required).toEqual(['requests']);
    expect(create.properties.requests.maxItems).toBe(LIMITS.maxItemsPerBatch);
    const line = deref(doc, create.properties.requests.items);
    expect(line.properties.custom_id.maxLength).toBe(LIMITS.customIdMaxLength);
    expect(line.properties.url.enum).toEqual([...SUPPORTED_URLS]);
    expect(Object.keys(operation(doc, 'post', '/batches').requestBody.content).sort()).toEqual([
      'application/json',
      'application/x-ndjson',
    ]);
    const options = deref(doc, create.properties.options);
    expect(deref(doc, options.properties.mode).enum).toEqual(['realtime', 'native', 'auto']);
    expect(options.additionalProperties).toBe(false);

    // POST /v1/batches: completion_window '24h' only, endpoints, the llmbatch_ metadata keys.
    const v1 = jsonBody(doc, 'post', '/v1/batches');
    const window = v1.properties.completion_window;
    expect(window.enum ?? [window.const]).toEqual(['24h']);
    expect(v1.properties.endpoint.enum).toEqual([...SUPPORTED_URLS]);
    const metadata = (v1.properties.metadata.anyOf as Json[]).find((s) => s.type === 'object') as Json;
    expect(metadata.maxProperties).toBe(V1_LIMITS.metadataMaxKeys);
    expect(metadata.additionalProperties.maxLength).toBe(V1_LIMITS.metadataValueMaxLength);
    expect(metadata.properties.llmbatch_priority.pattern).toBe('^[1-5]$');
    expect(metadata.properties.llmbatch_mode.enum).toEqual(['realtime', 'native', 'auto']);

    // Query limits.
    expect(queryParam(doc, 'get', '/v1/batches', 'limit')).toMatchObject({
      minimum: 1,
      maximum: V1_LIMITS.batchListMax,
      default: V1_LIMITS.batchListDefault,
    });
    expect(queryParam(doc, 'get', '/v1/files', 'order').enum).toEqual(['asc', 'desc']);
    expect(queryParam(doc, 'get', '/batches/{batch_id}/results', 'status').enum).toEqual([
      'all',
      'succeeded',
      'failed',
    ]);
    expect(queryParam(doc, 'get', '/batches/{batch_id}/results', 'error_code').type).toBe('string');
    expect(queryParam(doc, 'get', '/batches', 'status').enum).toEqual([
      'scheduled',
      'running',
      'paused',
      'completed',
      'cancelled',
      'failed',
    ]);
    expect(queryParam(doc, 'get', '/batches', 'created_after').format).toBe('date-time');
    // NDJSON batches take their options as query parameters.
    expect(queryParam(doc, 'post', '/batches', 'mode').enum).toEqual(['realtime', 'native', 'auto']);
    expect(queryParam(doc, 'post', '/batches', 'priority')).toMatchObject({ type: 'integer', minimum: 1, maximum: 5 });

    // Lane limits: a name, or endpoint and model; rpm and tpm nullable.
    const lane = jsonBody(doc, 'put', '/lanes/limits');
    expect(Object.keys(lane.properties).sort()).toEqual(['endpoint', 'model', 'name', 'rpm', 'tpm']);
    expect((lane.properties.rpm.anyOf as Json[]).map((s) => s.type).sort()).toEqual(['integer', 'null']);
  });

  it('describes the responses', () => {
    const progress = deref(
      doc,
      operation(doc, 'get', '/batches/{batch_id}').responses['200'].content['application/json'].schema,
    );
    expect(progress.required).toEqual(
      expect.arrayContaining(['id', 'createdAt', 'retryOf', 'batchId', 'status', 'total', 'lane', 'mode', 'costUsd']),
    );
    expect(progress.required).not.toContain('error');
    expect(deref(doc, progress.properties.status).enum).toEqual([
      'scheduled',
      'running',
      'paused',
      'completed',
      'cancelled',
      'failed',
    ]);
    const batch = deref(
      doc,
      operation(doc, 'get', '/v1/batches/{batch_id}').responses['200'].content['application/json'].schema,
    );
    expect(batch.properties.object.const).toBe('batch');
    expect(batch.properties.status.enum).toContain('cancelling');
    const results = operation(doc, 'get', '/batches/{batch_id}/results').responses['200'].content;
    expect(Object.keys(results)).toEqual(['application/x-ndjson']);
    expect(deref(doc, results['application/x-ndjson'].schema).required).toEqual([
      'id',
      'custom_id',
      'response',
      'error',
    ]);
    const list = deref(doc, operation(doc, 'get', '/batches').responses['200'].content['application/json'].schema);
    expect(deref(doc, list.properties.data.items)).toEqual(progress);
    expect(
      deref(
        doc,
        operation(doc, 'post', '/batches/{batch_id}/retry').responses['201'].content['application/json'].schema,
      ).required,
    ).toContain('retryOf');
  });
});

describe('GET /openapi.json', () => {
  it('serves the document as JSON, built once', async () => {
    const app = express();
    app.use(openApiRouter());
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((ok) => server.once('listening', () => ok()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`;
      const first = await fetch(url);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await first.json()) as Json;
      expect(body.openapi).toMatch(/^3\.1\.\d+$/);
      expect(Object.keys(body.paths)).toContain('/v1/batches/{batch_id}/cancel');
      const second = await (await fetch(url)).text();
      expect(second).toBe(JSON.stringify(body));
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});
