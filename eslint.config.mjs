// Lint rules: floating promises are errors everywhere; workflow code may not touch Node built-ins or
// non-deterministic APIs (Temporal replays it); the layer rules of docs/architecture.md; no import cycles.
import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/**
 * The layer rules, each message naming its rule. Folder rules are checked on resolved paths
 * (import-x/no-restricted-paths), so they hold at any depth; "by type only" rules need to tell
 * `import type` apart, which only no-restricted-imports does, so those match the import's text.
 */
const LAYER = {
  shared: 'layer rule: shared imports nothing else in src',
  sharedTemporal: 'layer rule: shared imports no Temporal runtime package (types only)',
  sharedIo: 'layer rule: shared does no I/O (no files, network, processes, database, HTTP server or provider client)',
  workflows: 'layer rule: workflows import only shared, their own folder, activities by type, Temporal workflow APIs',
  workflowsActivities: 'layer rule: workflows import activities by type only',
  workflowsPackages: 'layer rule: workflows import no package but @temporalio/workflow and @temporalio/common',
  workflowsNodeShared: 'layer rule: workflows never import shared modules that need Node (apiKeys, tokens)',
  activities: 'layer rule: activities never import api or workflows',
  api: 'layer rule: api never imports activities or worker',
  apiWorkflows: 'layer rule: api imports workflows by type only (typed workflow starts)',
  provider: 'layer rule: provider imports nothing else in src',
  storage: 'layer rule: storage imports only shared, config, logging and its own folder',
  logging: 'layer rule: logging imports nothing else in src',
  metrics: 'layer rule: metrics imports only shared, config and its own folder',
  cli: 'layer rule: cli imports only shared, config, devServer and its own folder (the API over HTTP)',
  console:
    'layer rule: console (browser modules) imports only its own folder, preact and htm (the project API over HTTP)',
};

/** What the web console's modules (src/console, run by browsers as they are) may use besides the language's own. */
const BROWSER_GLOBALS = Object.fromEntries(
  [
    'window',
    'document',
    'location',
    'sessionStorage',
    'fetch',
    'Headers',
    'URL',
    'URLSearchParams',
    'TextDecoderStream',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'addEventListener',
    'removeEventListener',
    'console',
  ].map((name) => [name, 'readonly']),
);

/** Folder rules: files under `target` may not import from `from`, but for `except` (relative to `from`). */
const layerZones = [
  { target: 'src/shared', from: 'src', except: ['./shared'], message: LAYER.shared },
  {
    target: 'src/workflows',
    from: 'src',
    except: ['./shared', './workflows', './activities'], // activities: types only, below
    message: LAYER.workflows,
  },
  {
    target: 'src/workflows',
    from: ['src/shared/apiKeys.ts', 'src/shared/tokens.ts'],
    message: LAYER.workflowsNodeShared,
  },
  { target: 'src/activities', from: ['src/api', 'src/workflows'], message: LAYER.activities },
  { target: 'src/api', from: ['src/activities', 'src/worker'], message: LAYER.api },
  { target: 'src/provider', from: 'src', except: ['./provider'], message: LAYER.provider },
  {
    target: 'src/storage',
    from: 'src',
    except: ['./storage', './shared', './config', './logging'],
    message: LAYER.storage,
  },
  // The logger factory is a leaf that every service folder may use: it depends on nothing of theirs.
  { target: 'src/logging', from: 'src', except: ['./logging'], message: LAYER.logging },
  // The catalog and its recording calls: the activities, the worker and the API use it, never the other way.
  { target: 'src/metrics', from: 'src', except: ['./metrics', './shared', './config'], message: LAYER.metrics },
  // config: the CLI starts the stack (npm start, demo) from the same settings; devServer: it runs Temporal's.
  { target: 'src/cli', from: 'src', except: ['./cli', './shared', './config', './devServer'], message: LAYER.cli },
];

/**
 * Matches an import that climbs out of the importing layer into the sibling layer `folder` (or a file in it), at
 * any depth: `../folder`, `../../folder/x`; not a file of the same name in the importer's own folder (`./folder`).
 */
const importOf = (folder) => `^(\\.\\./)+${folder}(/|$)`;
const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const sharedIoModules = ['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'tls']
  .flatMap((m) => [m, `node:${m}`])
  .concat(['pg', 'express', 'multer', 'openai']);

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.data/**',
      'lib/**',
      'dist/**',
      'coverage/**',
      'eslint.config.mjs',
      'jest.config.js',
      'jest.sequencer.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Imports: the layer rules, and no cycles in src, test or bench (type-only imports are not cycles at run time;
    // test/lint/cycles.test.ts checks those too).
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // The house's sizes: a line reads without scrolling, a function fits on a screen or two, a file is short.
    // Prettier (npm run lint checks it) wraps code at 120; this catches the strings and comments it leaves. Test files
    // are exempt from the function and file sizes: a describe block holds its tests.
    files: ['**/*.ts'],
    rules: { 'max-len': ['error', { code: 120, ignoreUrls: true }] },
  },
  {
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-lines': ['error', { max: 300 }],
    },
  },
  {
    // The web console: plain ES modules a browser loads as they are (no TypeScript, no bundler), so no type-aware
    // rules; browser globals; imports resolved by the page's import map (index.html) or relative to the folder.
    files: ['src/console/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'module', globals: BROWSER_GLOBALS },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-lines': ['error', { max: 300 }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\./[\\w.-]+\\.js$|preact$|preact/hooks$|htm$)', message: LAYER.console }] },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: sharedIoModules.map((name) => ({ name, message: LAYER.sharedIo, allowTypeImports: true })),
          patterns: [{ group: ['@temporalio/*'], allowTypeImports: true, message: LAYER.sharedTemporal }],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: importOf('workflows'), allowTypeImports: true, message: LAYER.apiWorkflows }] },
      ],
    },
  },
  {
    // Workflow code is replayed: no I/O, no clocks, no randomness outside the SDK.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
          patterns: [
            { regex: importOf('activities'), allowTypeImports: true, message: LAYER.workflowsActivities },
            {
              // Any package but these two (Node built-ins have their own message above).
              regex: `^(?!\\.|@temporalio/(workflow|common)$|(${nodeBuiltins.map(escapeRegex).join('|')})$)`,
              message: LAYER.workflowsPackages,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop.' },
        { name: 'process', message: 'Workflow code must not read the process.' },
        { name: 'fetch', message: 'Do I/O in activities.' },
        { name: 'require', message: 'Use imports.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() or workflow-seeded randomness.' },
        { object: 'crypto', property: 'randomUUID', message: 'Use uuid4() from @temporalio/workflow.' },
      ],
    },
  },
);
