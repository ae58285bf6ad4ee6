/**
 * The operator's tools against one live stack (bench/opsScene.ts: the processes `npm start` runs, two tenants,
 * batches running, completed, failed and dead-lettered):
 * - the Web UI's workflow list filtered by LlmbatchStatus, and its Send a Signal dialog retrying dead letters,
 *   in headless Chromium (skipped, saying so, where there is no Chromium);
 * - `temporal workflow list --query` by each search attribute;
 * - every command of docs/runbook.md, run in order with bash, each checked for its effect (runbookSteps.ts).
 * Screenshots go to a temp dir: `npm run screenshots` is what refreshes docs/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { startScene, type BatchRole, type Scene } from '../../bench/opsScene';
import { chromiumPath, launchBrowser, signalDialog, workflowList } from '../../bench/webUi';
import { requireTemporalCliPath } from '../../src/devServer/binary';
import { batchWorkflowId } from '../../src/shared/contracts';
import type { BatchView } from '../../src/shared/views';
import { sleep } from '../durability/harness';
import { readRunbook, RUNBOOK } from './runbookDoc';
import { stepFor, STEPS, type Step, type StepContext } from './runbookSteps';

const run = promisify(execFile);
let scene: Scene;
/** PATH with the Temporal CLI the stack runs first, as `temporal` (the runbook's commands call it so). */
let path: string;

beforeAll(async () => {
  const bin = mkdtempSync(join(tmpdir(), 'llmbatch-cli-'));
  symlinkSync(requireTemporalCliPath(process.env), join(bin, 'temporal'));
  path = `${bin}${delimiter}${process.env.PATH ?? ''}`;
  scene = await startScene();
}, 120_000);

afterAll(async () => {
  await scene?.stop();
});

const wf = (role: BatchRole): string => batchWorkflowId(scene.batches[role]);

/** `temporal <args>` against the scene's server; stdout. */
async function temporal(args: string[]): Promise<string> {
  const env = { ...process.env, PATH: path, TEMPORAL_ADDRESS: scene.temporalAddress };
  return (await run('temporal', args, { env, maxBuffer: 16 << 20 })).stdout;
}

async function listIds(query: string): Promise<string[]> {
  const rows = JSON.parse((await temporal(['workflow', 'list', '--query', query, '-o', 'json'])) || '[]') as {
    execution: { workflowId: string };
  }[];
  return [...new Set(rows.map((r) => r.execution.workflowId))].sort();
}

async function eventually(check: () => Promise<void> | void, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

const context = (): StepContext => ({
  scene,
  wf,
  listIds,
  eventually,
  runId: async (id) =>
    (
      JSON.parse(await temporal(['workflow', 'describe', '--workflow-id', id, '-o', 'json'])) as {
        workflowExecutionInfo: { execution: { runId: string } };
      }
    ).workflowExecutionInfo.execution.runId,
  view: (role) =>
    scene.client(role === 'otherTenant' ? 'beta' : 'acme').json<BatchView>('GET', `/batches/${scene.batches[role]}`),
});

const browserPath = chromiumPath();
const withBrowser = browserPath ? it : it.skip;
if (!browserPath) console.warn('Web UI test skipped: no Chromium (set CHROMIUM_PATH, or install chromium)');

withBrowser(
  `the Web UI lists the running batches by LlmbatchStatus, and its Send a Signal retries dead letters${
    browserPath ? '' : ' (SKIPPED: no Chromium; set CHROMIUM_PATH or install chromium)'
  }`,
  async () => {
    const shots = mkdtempSync(join(tmpdir(), 'llmbatch-webui-'));
    const browser: Browser = await launchBrowser(browserPath as string);
    try {
      const ui = { webUi: scene.webUi, namespace: scene.namespace };
      const listed = await workflowList(browser, {
        ...ui,
        query: 'LlmbatchStatus="running"',
        screenshot: join(shots, 'running.png'),
      });
      expect(listed).toEqual(expect.arrayContaining([wf('running'), wf('toCancel'), wf('otherTenant')]));
      for (const ended of ['completed', 'failed', 'deadLetters'] as const) expect(listed).not.toContain(wf(ended));
      expect(statSync(join(shots, 'running.png')).size).toBeGreaterThan(10_000);
      const beta = await workflowList(browser, { ...ui, query: 'LlmbatchTenant="beta" AND LlmbatchStatus="running"' });
      expect(beta).toEqual([wf('otherTenant')]);

      const offered = await signalDialog(browser, {
        ...ui,
        workflowId: wf('deadLettersWebUi'),
        signal: 'retryDeadLetters',
        screenshot: join(shots, 'signal.png'),
        submit: true,
      });
      expect(offered).toContain('retryDeadLetters');
      expect(existsSync(join(shots, 'signal.png'))).toBe(true);
    } finally {
      await browser.close();
    }
    // The signal sent from the dialog ran the dead letters again (the simulator answers them now).
    await eventually(async () => {
      expect(await context().view('deadLettersWebUi')).toMatchObject({ status: 'completed', succeeded: 5, failed: 0 });
    }, 30_000);
  },
  60_000,
);

it('temporal workflow list --query selects the batches by each search attribute', async () => {
  const acme = ['running', 'toCancel', 'completed', 'failed', 'deadLetters', 'deadLettersWebUi'] as const;
  const ids = (roles: readonly BatchRole[]): string[] => roles.map(wf).sort();
  const expected: [string, string[]][] = [
    ["LlmbatchTenant='acme'", ids(acme)],
    ["LlmbatchTenant='beta'", ids(['otherTenant'])],
    ["LlmbatchStatus='running'", ids(['running', 'toCancel', 'otherTenant'])],
    ["LlmbatchStatus='completed'", ids(['completed', 'deadLetters', 'deadLettersWebUi'])],
    ["LlmbatchStatus='failed'", ids(['failed'])],
    ["LlmbatchMode='realtime'", ids([...acme, 'otherTenant'])],
    ["LlmbatchMode='native'", []],
    ["LlmbatchModel='gpt-4o'", ids(['otherTenant'])],
    ["LlmbatchModel='gpt-4o-mini'", ids(acme)],
    ['LlmbatchPriority = 2', ids(['running'])],
    ['LlmbatchPriority = 4', ids(['otherTenant'])],
    [
      'LlmbatchPriority >= 3',
      ids(['toCancel', 'completed', 'failed', 'deadLetters', 'deadLettersWebUi', 'otherTenant']),
    ],
  ];
  const got = await Promise.all(expected.map(async ([query]) => [query, await listIds(query)] as const));
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
});

it('runs every command of docs/runbook.md, each with its effect', async () => {
  const { prelude, variables, commands } = readRunbook();
  const env = (batch: BatchRole): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: path,
    TEMPORAL_ADDRESS: scene.temporalAddress,
    TEMPORAL_NAMESPACE: scene.namespace,
    API: scene.api,
    API_KEY: scene.keys.acme,
    TENANT: 'acme',
    BATCH_ID: scene.batches[batch],
    TASK_QUEUE: scene.laneQueue,
    WORKER_METRICS: scene.workerMetrics,
  });
  // The variables block keeps what the shell has: it may set only defaults (and WORKFLOW_ID from BATCH_ID).
  const printed = await run('bash', ['-c', `${prelude}\nprintf '%s\\n' ${variables.map((v) => `"$${v}"`).join(' ')}`], {
    env: env('running'),
  });
  const values = printed.stdout.split('\n');
  expect(Object.fromEntries(variables.map((v, i) => [v, values[i]]))).toEqual(
    Object.fromEntries(variables.map((v) => [v, v === 'WORKFLOW_ID' ? wf('running') : env('running')[v]])),
  );

  const unknown = commands.filter((c) => !stepFor(c));
  expect({ 'commands with no row (or two) in runbookSteps.ts': unknown }).toEqual({
    'commands with no row (or two) in runbookSteps.ts': [],
  });
  const used = new Set<Step>();
  const ctx = context();
  for (const command of commands) {
    const step = stepFor(command) as Step;
    used.add(step);
    const before = await step.before?.(ctx);
    const result = await run('bash', ['-c', `${prelude}\n${command}`], { env: env(step.batch ?? 'running') }).catch(
      (err: { code?: number; stdout?: string; stderr?: string }) => {
        throw new Error(`exit ${err.code}: ${command}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      },
    );
    try {
      await step.check(result.stdout, ctx, before);
    } catch (err) {
      throw new Error(`${command}\n${result.stdout.slice(0, 3000)}\n${(err as Error).message}`);
    }
  }
  // No row is left over from a command the runbook no longer has.
  expect(STEPS.filter((s) => !used.has(s)).map((s) => s.match)).toEqual([]);
}, 240_000);

it('serves every metric the runbook names (its PromQL and prose included)', async () => {
  const text = readFileSync(RUNBOOK, 'utf8');
  const names = [
    ...[...text.matchAll(/\bllmbatch_[a-z0-9_]*[a-z0-9]\b/g)].map((m) => m[0]),
    // The grep patterns' alternatives: llmbatch_(a|b|c)
    ...[...text.matchAll(/\bllmbatch_\(([a-z0-9_|]+)\)/g)].flatMap((m) =>
      (m[1] ?? '').split('|').map((n) => `llmbatch_${n}`),
    ),
  ];
  const metrics = [...new Set(names)];
  const exposition = (await Promise.all([`${scene.api}/metrics`, scene.workerMetrics].map(textOf))).join('\n');
  const typed = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  // A histogram's TYPE line names it without the _bucket/_sum/_count of its series.
  expect(metrics.filter((n) => !typed.has(n.replace(/_(bucket|sum|count)$/, '')))).toEqual([]);
  expect(metrics.length).toBeGreaterThan(10);
});

const promtool = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'promtool'))
  .find((p) => existsSync(p));
(promtool ? it : it.skip)(
  `its PromQL parses (promtool check rules)${promtool ? '' : ' (SKIPPED: no promtool; install prometheus)'}`,
  async () => {
    const exprs = [...readFileSync(RUNBOOK, 'utf8').matchAll(/^```promql\n([\s\S]*?)^```$/gm)]
      .flatMap((m) => (m[1] ?? '').split('\n'))
      .filter((l) => l.trim());
    expect(exprs.length).toBeGreaterThan(0);
    // Each expression as a recording rule: JSON strings are YAML scalars.
    const rules = exprs.map((e, i) => `      - record: runbook:expr_${i}\n        expr: ${JSON.stringify(e)}`);
    const file = join(mkdtempSync(join(tmpdir(), 'llmbatch-promql-')), 'runbook.rules.yml');
    writeFileSync(file, `groups:\n  - name: runbook\n    rules:\n${rules.join('\n')}\n`);
    await run(promtool as string, ['check', 'rules', file]);
  },
);

async function textOf(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}
