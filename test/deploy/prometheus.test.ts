/**
 * deploy/prometheus: the rules pass `promtool check rules` and their unit tests (`promtool test rules
 * alerts.test.yml`), both configs pass `promtool check config`, every alert says what to do, and the local
 * config scrapes the ports `npm start` uses. Where promtool is missing (CI installs Debian's prometheus through
 * .ci/run), the promtool checks are skipped with a message; the structural checks run anyway.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { ROOT } from './build';

const DIR = join(ROOT, 'deploy', 'prometheus');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
}

const rules = (parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);

function promtoolPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const promtool = promtoolPath();
if (!promtool) console.warn('SKIPPED promtool checks: promtool is not installed (Debian: apt-get install prometheus)');
const withPromtool = promtool ? it : it.skip;

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((ok) => {
    execFile(promtool!, args, { cwd: DIR, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('deploy/prometheus', () => {
  withPromtool('promtool check rules passes on alerts.yml', async () => {
    const r = await run(['check', 'rules', 'alerts.yml']);
    expect(r).toEqual({ code: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
  });

  withPromtool('promtool test rules passes on alerts.test.yml', async () => {
    const r = await run(['test', 'rules', 'alerts.test.yml']);
    expect(r).toEqual({ code: 0, output: expect.stringContaining('SUCCESS') });
  });

  withPromtool.each(['prometheus.yml', 'prometheus.compose.yml'])('promtool check config passes on %s', async (f) => {
    const r = await run(['check', 'config', f]);
    expect(r).toEqual({ code: 0, output: expect.stringContaining('is valid prometheus config file syntax') });
  });

  it('has the alerts the issue asks for, each with for:, a severity, a summary and what to do', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'LlmbatchHighItemFailureRate',
        'LlmbatchSustained429s',
        'LlmbatchQueueDelayHigh',
        'LlmbatchBatchStalled',
        'LlmbatchBudgetPause',
        'LlmbatchWorkerDown',
      ]),
    );
    for (const a of alerts) {
      expect({ alert: a.alert, for: a.for }).toEqual({ alert: a.alert, for: expect.stringMatching(/^\d+[smh]$/) });
      expect({ alert: a.alert, severity: a.labels?.severity }).toEqual({
        alert: a.alert,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      expect(a.annotations?.summary).toEqual(expect.any(String));
      // The description points at the runbook's section for this alert; runbook_url at its anchor.
      expect(a.annotations?.description).toContain(`docs/runbook.md, "Alerts: ${a.alert}"`);
      expect(a.annotations?.runbook_url).toBe(`docs/runbook.md#${a.alert!.toLowerCase()}`);
    }
  });

  it('the unit tests cover failure rate, worker down and stalled batch, each firing and not firing', () => {
    const tests = (
      parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of ['LlmbatchHighItemFailureRate', 'LlmbatchWorkerDown', 'LlmbatchBatchStalled']) {
      const cases = tests.filter((t) => t.alertname === name);
      expect({ name, firing: cases.some((t) => t.exp_alerts.length > 0) }).toEqual({ name, firing: true });
      expect({ name, silent: cases.some((t) => t.exp_alerts.length === 0) }).toEqual({ name, silent: true });
    }
  });

  it('prometheus.yml scrapes the API and the worker on the ports npm start gives them, with alerts.yml', () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as PrometheusConfig;
    expect(config.rule_files).toEqual(['alerts.yml']);
    const targets = (job: string): string[] =>
      config.scrape_configs.find((s) => s.job_name === job)?.static_configs?.flatMap((c) => c.targets) ?? [];
    expect(targets('llmbatch-api')).toEqual([`127.0.0.1:${loadConfig({}).api.port}`]);
    // src/cli/start.ts is an entry point (importing it would start a stack): its default is read from the source.
    const start = readFileSync(join(ROOT, 'src', 'cli', 'start.ts'), 'utf8');
    const workerPort = /const DEFAULT_WORKER_METRICS_PORT = (\d+);/.exec(start)?.[1];
    expect(workerPort).toBeDefined();
    expect(targets('llmbatch-worker')).toEqual([`127.0.0.1:${workerPort}`]);
  });
});
