/**
 * docs/runbook.md's shell commands: the ```sh blocks, in order. The first block (under "Before you start")
 * sets the variables, each to what the shell already has if set; it runs before every command. Every other
 * line of a block is one command (a line ending in a backslash goes on on the next).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUNBOOK = join(__dirname, '..', '..', 'docs', 'runbook.md');

export interface Runbook {
  /** The variables block, as written. */
  prelude: string;
  /** The variables it exports, in order. */
  variables: string[];
  commands: string[];
}

export function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

export function commandsOf(block: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    current += line;
    if (line.endsWith('\\')) {
      current = `${current.slice(0, -1)} `;
      continue;
    }
    commands.push(current.trim());
    current = '';
  }
  if (current.trim()) commands.push(current.trim());
  return commands;
}

export function readRunbook(path = RUNBOOK): Runbook {
  const [prelude = '', ...rest] = shBlocks(readFileSync(path, 'utf8'));
  const variables = [...prelude.matchAll(/^export ([A-Z_]+)=/gm)].map((m) => m[1] ?? '');
  return { prelude, variables, commands: rest.flatMap(commandsOf) };
}
