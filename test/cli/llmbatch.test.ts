/**
 * The `llmbatch` CLI as a user runs it (a real process) against the API: submit a JSONL file and watch
 * it finish, list, fetch results and dead letters, and get a clear error for a bad file or key.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newApiKey } from '../../src/shared/apiKeys';
import { useApiStack } from '../helpers/apiStack';
import { chatLines } from '../helpers/fakes';
import { runCli, type CliRun } from './cliRun';

jest.setTimeout(120_000);

const { key, digest } = newApiKey();
const stack = useApiStack({ LLMBATCH_AUTH: 'keys', LLMBATCH_TENANTS: JSON.stringify([{ id: 'cli', keys: [digest] }]) });

/** Runs `npm run llmbatch -- <args>` (the same entry point, without npm's own output). */
const llmbatch = (args: string[], apiKey = key): Promise<CliRun> => runCli(args, stack.base, apiKey);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llmbatch-cli-'));
});

const jsonl = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';

it('submits a file, shows progress until it completes, lists it and writes its results and dead letters', async () => {
  const file = join(dir, 'in.jsonl');
  const broken = {
    custom_id: 'broken',
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [] },
  };
  await writeFile(file, jsonl([...chatLines(40, 'cli'), broken]));

  const submitted = await llmbatch(['submit', file, '--priority', '2', '--wait']);
  // The one broken line makes it a completed batch with a dead letter: exit 0, and the last line says so.
  expect(submitted).toMatchObject({ code: 0, stderr: '' });
  const id = /^batch (\S+): 41 requests, realtime/m.exec(submitted.stdout)?.[1] as string;
  expect(id).toBeDefined();
  expect(submitted.stdout.trim().split('\n').at(-1)).toMatch(/\] 41\/41 \(40 ok, 1 failed\) completed$/);

  const listed = await llmbatch(['list', '--status', 'completed']);
  expect(listed.stdout).toContain(id);

  const out = join(dir, 'out.jsonl');
  expect((await llmbatch(['results', id, '--out', out])).code).toBe(0);
  expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(41);
  const dead = await llmbatch(['results', id, '--status', 'failed']);
  expect(
    dead.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { custom_id: string }).custom_id),
  ).toEqual(['broken']);

  const status = JSON.parse((await llmbatch(['status', id])).stdout) as { status: string; priority: number };
  expect(status).toMatchObject({ status: 'completed', priority: 2 });
});

it('says which line of a bad file is wrong, exits 1, and creates nothing', async () => {
  const file = join(dir, 'bad.jsonl');
  await writeFile(
    file,
    jsonl([...chatLines(2, 'bad'), { custom_id: 'x', method: 'GET', url: '/v1/chat/completions', body: {} }]),
  );
  const before = (await llmbatch(['list'])).stdout;
  const run = await llmbatch(['submit', file]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/400 invalid batch: line 3: method must be "POST"/);
  expect((await llmbatch(['list'])).stdout).toBe(before);
});

it('a wrong key is a 401 with the reason; a bad command prints the usage', async () => {
  const denied = await llmbatch(['list'], 'lb_not-a-key');
  expect(denied.code).toBe(1);
  expect(denied.stderr).toContain('401 Incorrect API key provided');
  const usage = await llmbatch(['frobnicate']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('unknown command frobnicate');
  expect(usage.stderr).toContain('usage: npm run llmbatch');
});

it('submit --not-before and --window pass the times on; a malformed --window is a usage error', async () => {
  const file = join(dir, 'later.jsonl');
  await writeFile(file, jsonl(chatLines(3, 'later')));
  const notBefore = new Date(Date.now() + 3_600_000).toISOString();
  const submitted = await llmbatch([
    'submit',
    file,
    '--not-before',
    notBefore,
    '--window',
    '01:00-06:00 Europe/Berlin',
  ]);
  expect(submitted).toMatchObject({ code: 0, stderr: '' });
  const id = /^batch (\S+): 3 requests/m.exec(submitted.stdout)?.[1] as string;
  const status = JSON.parse((await llmbatch(['status', id])).stdout) as Record<string, unknown>;
  expect(status).toMatchObject({
    status: 'scheduled',
    notBefore,
    window: { start: '01:00', end: '06:00', timezone: 'Europe/Berlin' },
  });
  expect((await llmbatch(['cancel', id])).code).toBe(0);
  const bad = await llmbatch(['submit', file, '--window', '01:00 to 06:00']);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('--window: expected "HH:MM-HH:MM Zone/Name"');
});
