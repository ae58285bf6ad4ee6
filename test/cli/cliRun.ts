/** Runs the `llmbatch` CLI as a user does (a real process, `npm run llmbatch`'s entry point without npm's output). */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `llmbatch <args>` against the API at `url` (nothing listens there for the tests of local errors). */
export async function runCli(args: string[], url: string, apiKey?: string): Promise<CliRun> {
  const env = { ...process.env, LLMBATCH_URL: url, LLMBATCH_API_KEY: apiKey ?? '' };
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/llmbatch.ts', ...args],
      { env, cwd: join(__dirname, '../..') },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Writes `text` to `name` in `dir`; the file's path. */
export async function fileIn(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

export const jsonl = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
