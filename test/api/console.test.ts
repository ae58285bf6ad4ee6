/**
 * GET /console without a browser: the page, every module it imports (its own and Preact's and htm's through the
 * import map) served as JavaScript, the settings the page reads, and nothing outside the console's files.
 * test/console/console.test.ts drives the page itself in Chromium.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { consoleConfig, consoleRouter } from '../../src/api/console';
import { httpMetrics } from '../../src/api/metrics';
import { ApiMetrics } from '../../src/metrics/apiMetrics';
import { loadConfig } from '../../src/config';

const CONSOLE_DIR = join(__dirname, '..', '..', 'src', 'console');
const metrics = new ApiMetrics();
let server: Server;
let base: string;

beforeAll(async () => {
  const config = loadConfig({ LLMBATCH_AUTH: 'local', LLMBATCH_TEMPORAL_UI_URL: 'http://127.0.0.1:8233/' });
  const app = express();
  app.use(httpMetrics(metrics));
  app.use(consoleRouter({ config }));
  app.use((_req, res) => void res.status(404).send('not found'));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((ok) => server.once('listening', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

/** The module specifiers of a page module: `import … from '…'` and `import '…'`. */
const importsOf = (source: string): string[] =>
  [...source.matchAll(/^\s*import\s+(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

describe('GET /console', () => {
  it('serves the page, with /console and /console/ alike', async () => {
    for (const path of ['/console', '/console/']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<script type="module" src="/console/app.js"></script>');
    }
  });

  it('serves every module and stylesheet the page loads, its own and those of the import map', async () => {
    const page = await (await fetch(`${base}/console`)).text();
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page)![1]!) as {
      imports: Record<string, string>;
    };
    const own = readdirSync(CONSOLE_DIR).filter((f) => f.endsWith('.js'));
    const imported = new Set(
      own.flatMap((f) => importsOf(readFileSync(join(CONSOLE_DIR, f), 'utf8'))).filter((s) => s.startsWith('./')),
    );
    // Every module of the folder is reachable from app.js, and every bare name resolves through the map.
    expect([...imported, './app.js'].sort()).toEqual(own.map((f) => `./${f}`).sort());
    // Every stylesheet of the folder is linked from the page.
    const stylesheets = [...page.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);
    const css = readdirSync(CONSOLE_DIR).filter((f) => f.endsWith('.css'));
    expect([...stylesheets].sort()).toEqual(css.map((f) => `/console/${f}`).sort());
    const urls = [...own.map((f) => `/console/${f}`), ...Object.values(map.imports), ...stylesheets];
    for (const url of urls) {
      const res = await fetch(`${base}${url}`);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
      expect(res.headers.get('content-type')).toMatch(url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    const bare = own.flatMap((f) =>
      importsOf(readFileSync(join(CONSOLE_DIR, f), 'utf8')).filter((s) => !s.startsWith('.')),
    );
    expect(bare.filter((s) => !(s in map.imports))).toEqual([]);
  });

  it('tells the page the auth mode and where the Temporal Web UI is', async () => {
    const res = await fetch(`${base}/console/config.json`);
    expect(await res.json()).toEqual({ auth: 'local', temporalUiUrl: 'http://127.0.0.1:8233', namespace: 'default' });
  });

  it('takes LLMBATCH_TEMPORAL_UI_URL as an http(s) URL only, and shows no link without it', () => {
    for (const bad of ['8233', 'javascript:alert(1)', 'ftp://ui.example'])
      expect(() => loadConfig({ LLMBATCH_TEMPORAL_UI_URL: bad })).toThrow(/LLMBATCH_TEMPORAL_UI_URL/);
    expect(consoleConfig(loadConfig({ LLMBATCH_TEMPORAL_UI_URL: '' })).temporalUiUrl).toBeNull();
    expect(consoleConfig(loadConfig({})).auth).toBe('keys');
  });

  it('serves nothing but its files', async () => {
    for (const path of [
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/nope.js',
      '/console/vendor/',
    ]) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
    const post = await fetch(`${base}/console`, { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('counts as one route, /console, in the HTTP metrics; a path it does not serve stays unmatched', async () => {
    const count = async (route: string, statusClass: string): Promise<number> => {
      const text = await metrics.registry.metrics();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(`llmbatch_http_requests_total{method="GET",route="${route}",status_class="${statusClass}"}`),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = { page: await count('/console', '2xx'), unmatched: await count('unmatched', '4xx') };
    for (const path of ['/console', '/console/app.js', '/console/vendor/preact.mjs', '/console/config.json'])
      expect((await fetch(`${base}${path}`)).status).toBe(200);
    expect((await fetch(`${base}/console/nope.js`)).status).toBe(404);
    expect(await count('/console', '2xx')).toBe(before.page + 4);
    expect(await count('unmatched', '4xx')).toBe(before.unmatched + 1);
    expect(await metrics.registry.metrics()).not.toContain('app.js');
  });
});
