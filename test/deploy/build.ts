/**
 * What the deployment files must agree on with `npm run build`: the services our image runs, each by the
 * TypeScript entry point it comes from, and where tsconfig.build.json puts that entry's JavaScript.
 */
import { readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** Services run from our Dockerfile, each with the source of the entry point it must run. */
export const OUR_SERVICES = {
  worker: 'src/worker/workerMain.ts',
  api: 'src/api/apiMain.ts',
  provider: 'src/provider/providerMain.ts',
} as const;

interface BuildConfig {
  extends?: string;
  compilerOptions?: { rootDir?: string; outDir?: string; noEmit?: boolean; module?: string };
  include?: string[];
  exclude?: string[];
}

export function buildConfig(): BuildConfig {
  return JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as BuildConfig;
}

/** The JavaScript file tsc writes for `source` under tsconfig.build.json's rootDir, into `outDir`. */
export function compiledPath(source: string, outDir = buildConfig().compilerOptions?.outDir ?? ''): string {
  const rootDir = buildConfig().compilerOptions?.rootDir ?? '';
  const inRoot = posix.relative(posix.normalize(rootDir), posix.normalize(source));
  if (inRoot.startsWith('..')) throw new Error(`${source} is outside the build's rootDir ${rootDir}`);
  return posix.join(outDir, inRoot.replace(/\.ts$/, '.js'));
}
