/**
 * GET /console: the web console, a single page of plain ES modules (src/console) on Preact and htm, which the
 * page's import map loads from node_modules through this router: nothing to build, nothing from a CDN.
 * GET /console/config.json tells the page what the API cannot: whether keys are needed, and where the Temporal
 * Web UI is (LLMBATCH_TEMPORAL_UI_URL) so that a batch links to its workflow.
 *
 * It is a web page, not part of the JSON API: no OpenAPI entry, and no key to load it (a browser cannot send one
 * when it opens a URL). The page then calls the project API with the key the user gives it, like any client.
 * Only the files listed here are served, so no path can reach outside them.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../config';

/** The page's own files: beside this file's folder under src/, or the sources' when running from dist/. */
const CONSOLE_DIR = [join(__dirname, '..', 'console'), join(__dirname, '..', '..', 'src', 'console')].find((d) =>
  existsSync(join(d, 'index.html')),
);

/** Names the import map uses (index.html) → the ES module builds that npm installed. */
const VENDOR: Record<string, string> = {
  '/vendor/preact.mjs': require.resolve('preact'),
  '/vendor/hooks.mjs': require.resolve('preact/hooks'),
  '/vendor/htm.mjs': join(dirname(require.resolve('htm')), 'htm.mjs'),
};

const PAGE_FILES = [
  'index.html',
  'style.css',
  'data.css',
  'app.js',
  'api.js',
  'ui.js',
  'list.js',
  'batch.js',
  'failures.js',
  'actions.js',
  'submit.js',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
};

/** What the page needs to know about this deployment (GET /console/config.json). */
export interface ConsoleConfig {
  auth: 'keys' | 'local';
  temporalUiUrl: string | null;
  namespace: string;
}

export function consoleConfig(config: Config): ConsoleConfig {
  return {
    auth: config.auth.mode,
    temporalUiUrl: config.api.temporalUiUrl ?? null,
    namespace: config.temporal.namespace,
  };
}

function consoleFiles(): Map<string, string> {
  const files = new Map<string, string>(Object.entries(VENDOR));
  if (CONSOLE_DIR) {
    for (const name of PAGE_FILES) files.set(`/${name}`, join(CONSOLE_DIR, name));
    files.set('/', join(CONSOLE_DIR, 'index.html'));
  }
  return files;
}

export function consoleRouter(deps: { config: Config }): Router {
  const router = express.Router();
  const files = consoleFiles();
  const settings = consoleConfig(deps.config);
  // One handler for the whole folder: the page's routes (#/batches/<id>) live after the '#', so every file is known.
  router.use('/console', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // One label for the page and all its files in the API's HTTP metrics (not `unmatched`, not one per file).
    if (req.path === '/config.json' || files.has(req.path)) res.locals.metricsRoute = '/console';
    if (req.path === '/config.json') {
      res.set('Cache-Control', 'no-store').json(settings);
      return;
    }
    const file = files.get(req.path);
    if (!file) return next();
    // The page and its modules change with the code: revalidate each time rather than run a stale mix.
    res.set('Cache-Control', 'no-cache');
    res.type(TYPES[extname(file)] ?? 'application/octet-stream');
    res.sendFile(file, (err) => {
      if (err) next(err);
    });
  });
  return router;
}
