/**
 * `npm run build` run for real, into a temp directory laid out as the image's /app (package.json and
 * node_modules beside dist/): the files docker-compose.yml and the Dockerfile run exist there and start,
 * the worker finds the prebuilt workflow bundle, and compiled code needs no devDependency.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, compiledPath, OUR_SERVICES, ROOT } from './build';

interface PackageJson {
  version: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const app = mkdtempSync(join(tmpdir(), 'llmbatch-build-'));
const outDir = join(app, 'dist');

/** Runs node in the temp /app, as the image's services run. */
const nodeIn = (args: string[]): string =>
  execFileSync(process.execPath, args, {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

beforeAll(() => {
  symlinkSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  // The build script's steps, with dist/ moved to the temp directory.
  const steps = pkg.scripts.build!.split('&&').map((step) => step.trim().split(/\s+/));
  expect(steps).toEqual([
    ['tsc', '-p', 'tsconfig.build.json'],
    ['node', 'dist/worker/bundleWorkflows.js'],
  ]);
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  execFileSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: 'pipe' });
  nodeIn([compiledPath('src/worker/bundleWorkflows.ts', outDir)]);
}, 300_000);

afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('npm run build', () => {
  test('emits CommonJS for src only, into dist/', () => {
    const config = buildConfig();
    expect(config.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist', noEmit: false });
    expect(config.include).toEqual(['src']);
    const worker = readFileSync(join(app, compiledPath(OUR_SERVICES.worker)), 'utf8');
    expect(worker).toMatch(/^"use strict";[\s\S]*\brequire\("@temporalio\/worker"\)/);
  });

  test.each(Object.entries(OUR_SERVICES))('writes the file service %s runs', (_name, entry) => {
    expect(existsSync(join(app, compiledPath(entry)))).toBe(true);
  });

  test('prebuilds the workflow bundle where a compiled worker looks for it', () => {
    const found = JSON.parse(
      nodeIn([
        '-e',
        "const b = require('./dist/worker/bundleWorkflows.js');" +
          'console.log(JSON.stringify({ compiled: b.runsCompiled(), path: b.prebuiltBundlePath() }))',
      ]),
    ) as { compiled: boolean; path: string };
    expect(found).toEqual({ compiled: true, path: join(outDir, 'workflow-bundle.js') });
    const bundle = readFileSync(found.path, 'utf8');
    expect(bundle.length).toBeGreaterThan(100_000);
    expect(bundle).toContain('batchWorkflow');
  });

  test('the compiled simulator and API load their whole module graph', () => {
    expect(nodeIn([compiledPath(OUR_SERVICES.provider), '--help'])).toMatch(/--port/);
    const version = nodeIn([
      '-e',
      "console.log(require('./dist/api/openapi/document.js').buildOpenApiDocument().info.version)",
    ]);
    expect(version.trim()).toBe(pkg.version);
    nodeIn(['-e', "require('./dist/api/app.js'); require('./dist/worker/createWorker.js')"]);
  });

  test('compiled code requires only production dependencies and Node built-ins', () => {
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const missing = new Set<string>();
    const seen = new Set<string>();
    for (const file of jsFiles(outDir).filter((f) => !f.endsWith('workflow-bundle.js'))) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/\brequire\("([^".][^"]*)"\)/g)) {
        const name = spec!
          .replace(/^node:/, '')
          .split('/')
          .slice(0, spec!.startsWith('@') ? 2 : 1)
          .join('/');
        seen.add(name);
        if (!allowed.has(name)) missing.add(`${name} (${file.slice(outDir.length + 1)})`);
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['@temporalio/worker', 'express', 'zod']));
    expect([...missing]).toEqual([]);
  });
});
