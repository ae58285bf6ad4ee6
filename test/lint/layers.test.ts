/**
 * The layer rules of eslint.config.mjs: one deliberate violation of each fails with its rule's message, and an
 * allowed import of each layer passes. Each case is a one-import file linted (not written) at a path inside its
 * layer, with the project's own config; type-aware rules are off here, so no TypeScript program is built.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

interface Case {
  /** Where the probe file would be: its layer. */
  file: string;
  /** The one import it makes. */
  code: string;
}

interface Outcome {
  messages: string[];
}

const valueImport = (name: string, from: string): string =>
  `import { ${name} } from '${from}';\nexport const probe = ${name};\n`;
const typeImport = (name: string, from: string): string =>
  `import type { ${name} } from '${from}';\nexport type Probe = ${name};\n`;

/**
 * Lints every case in one child process: ESLint loads eslint.config.mjs with a dynamic import, which Jest's
 * module sandbox does not allow.
 */
function lint(cases: Case[]): Outcome[] {
  const script = `
    import { ESLint } from 'eslint';
    import tseslint from 'typescript-eslint';
    const cases = JSON.parse(process.argv[1]);
    const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: tseslint.configs.disableTypeChecked });
    const out = [];
    for (const c of cases) {
      const [result] = await eslint.lintText(c.code, { filePath: c.file });
      out.push({ messages: result.messages.map((m) => m.ruleId + ': ' + m.message) });
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const withPaths = cases.map((c) => ({ ...c, file: path.join(ROOT, c.file) }));
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(withPaths)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Outcome[];
}

const VIOLATIONS: Array<[string, Case]> = [
  [
    'layer rule: shared imports nothing else in src',
    { file: 'src/shared/probe.ts', code: valueImport('loadConfig', '../config') },
  ],
  [
    'layer rule: shared imports no Temporal runtime package (types only)',
    { file: 'src/shared/probe.ts', code: valueImport('defineSignal', '@temporalio/workflow') },
  ],
  ['layer rule: shared does no I/O', { file: 'src/shared/probe.ts', code: valueImport('readFileSync', 'node:fs') }],
  [
    'layer rule: workflows import only shared, their own folder',
    { file: 'src/workflows/probe.ts', code: valueImport('signWebhook', '../webhooks/sign') },
  ],
  [
    'layer rule: workflows import activities by type only',
    { file: 'src/workflows/native/probe.ts', code: valueImport('createActivities', '../../activities') },
  ],
  [
    'layer rule: workflows import no package but @temporalio/workflow and @temporalio/common',
    { file: 'src/workflows/probe.ts', code: valueImport('Client', '@temporalio/client') },
  ],
  [
    'layer rule: workflows never import shared modules that need Node',
    { file: 'src/workflows/probe.ts', code: valueImport('newApiKey', '../shared/apiKeys') },
  ],
  [
    'Workflow code must not use Node built-ins.',
    { file: 'src/workflows/probe.ts', code: valueImport('readFileSync', 'node:fs') },
  ],
  [
    'layer rule: activities never import api or workflows',
    { file: 'src/activities/probe.ts', code: valueImport('authenticate', '../api/auth') },
  ],
  [
    'layer rule: activities never import api or workflows',
    { file: 'src/activities/native/probe.ts', code: typeImport('BatchWorkflowInput', '../../workflows/batch') },
  ],
  [
    'layer rule: api never imports activities or worker',
    { file: 'src/api/probe.ts', code: typeImport('Activities', '../activities') },
  ],
  [
    'layer rule: api never imports activities or worker',
    { file: 'src/api/v1/probe.ts', code: valueImport('createWorker', '../../worker/createWorker') },
  ],
  [
    'layer rule: api imports workflows by type only',
    { file: 'src/api/probe.ts', code: valueImport('batchWorkflow', '../workflows') },
  ],
  [
    'layer rule: provider imports nothing else in src',
    { file: 'src/provider/http/probe.ts', code: valueImport('TASK_QUEUE', '../../shared/contracts') },
  ],
  [
    'layer rule: storage imports only shared, config, logging and its own folder',
    { file: 'src/storage/postgres/probe.ts', code: valueImport('createActivities', '../../activities') },
  ],
  [
    'layer rule: logging imports nothing else in src',
    { file: 'src/logging/probe.ts', code: typeImport('Config', '../config') },
  ],
  [
    'layer rule: metrics imports only shared, config and its own folder',
    { file: 'src/metrics/probe.ts', code: typeImport('ChunkInput', '../activities/chunk') },
  ],
  [
    'layer rule: metrics imports only shared, config and its own folder',
    { file: 'src/metrics/probe.ts', code: valueImport('createWorker', '../worker/createWorker') },
  ],
  [
    'layer rule: cli imports only shared, config, devServer and its own folder',
    { file: 'src/cli/probe.ts', code: valueImport('newApiKey', '../api/auth') },
  ],
  [
    'layer rule: console (browser modules) imports only its own folder, preact and htm',
    { file: 'src/console/probe.js', code: valueImport('batchWorkflowId', '../shared/contracts') },
  ],
  [
    'layer rule: console (browser modules) imports only its own folder, preact and htm',
    { file: 'src/console/probe.js', code: valueImport('z', 'zod') },
  ],
];

const ALLOWED: Array<[string, Case]> = [
  [
    'shared: its own folder, zod, Temporal types',
    { file: 'src/shared/probe.ts', code: typeImport('SignalDefinition', '@temporalio/common') },
  ],
  ['shared: its own folder', { file: 'src/shared/probe.ts', code: valueImport('TASK_QUEUE', './contracts') }],
  [
    'workflows: shared',
    { file: 'src/workflows/native/probe.ts', code: valueImport('TASK_QUEUE', '../../shared/contracts') },
  ],
  [
    'workflows: the workflow API',
    { file: 'src/workflows/probe.ts', code: valueImport('proxyActivities', '@temporalio/workflow') },
  ],
  [
    'workflows: activities by type',
    { file: 'src/workflows/probe.ts', code: typeImport('Activities', '../activities') },
  ],
  [
    'activities: storage and shared',
    { file: 'src/activities/probe.ts', code: typeImport('BatchStore', '../storage/types') },
  ],
  ['api: storage', { file: 'src/api/probe.ts', code: typeImport('BatchStore', '../storage/types') }],
  ['api: workflows by type', { file: 'src/api/v1/probe.ts', code: typeImport('batchWorkflow', '../../workflows') }],
  ['provider: its own folder', { file: 'src/provider/http/probe.ts', code: valueImport('newId', '../ids') }],
  ['storage: config', { file: 'src/storage/postgres/probe.ts', code: valueImport('loadConfig', '../../config') }],
  [
    'storage: logging',
    { file: 'src/storage/postgres/probe.ts', code: valueImport('createLogger', '../../logging/logger') },
  ],
  ['logging: its own folder', { file: 'src/logging/probe.ts', code: valueImport('createLogger', './logger') }],
  ['metrics: shared', { file: 'src/metrics/probe.ts', code: typeImport('ModelPrice', '../shared/contracts') }],
  [
    'activities: metrics',
    { file: 'src/activities/probe.ts', code: typeImport('WorkerMetrics', '../metrics/workerMetrics') },
  ],
  ['cli: config', { file: 'src/cli/probe.ts', code: valueImport('loadConfig', '../config') }],
  ['cli: devServer', { file: 'src/cli/probe.ts', code: valueImport('requireTemporalCliPath', '../devServer/binary') }],
  ['console: its own folder', { file: 'src/console/probe.js', code: valueImport('html', './ui.js') }],
  ['console: preact', { file: 'src/console/probe.js', code: valueImport('useState', 'preact/hooks') }],
  ['worker: wires it all', { file: 'src/worker/probe.ts', code: valueImport('createActivities', '../activities') }],
];

describe('layer rules (eslint.config.mjs)', () => {
  let violations: Outcome[];
  let allowed: Outcome[];

  beforeAll(() => {
    const outcomes = lint([...VIOLATIONS, ...ALLOWED].map(([, c]) => c));
    violations = outcomes.slice(0, VIOLATIONS.length);
    allowed = outcomes.slice(VIOLATIONS.length);
  });

  it.each(VIOLATIONS.map(([rule, c], i) => [rule, c.file, i] as const))('fails: %s (%s)', (rule, _file, i) => {
    const messages = violations[i]?.messages ?? [];
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(rule);
  });

  it.each(ALLOWED.map(([what, c], i) => [what, c.file, i] as const))('passes: %s (%s)', (_what, _file, i) => {
    expect(allowed[i]?.messages).toEqual([]);
  });
});
