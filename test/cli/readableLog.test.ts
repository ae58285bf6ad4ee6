/** What npm start shows on a terminal for its children's output: pino's JSON lines made readable. */
import { readableLine } from '../../src/cli/readableLog';

// eslint-disable-next-line no-control-regex
const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('readableLine', () => {
  it("shows a pino line with its time, level, the process's name, message and fields, not as JSON", () => {
    const line = JSON.stringify({
      level: 40,
      time: '2026-12-07T14:35:40.478Z',
      pid: 1,
      hostname: 'vm',
      name: 'worker',
      taskQueue: 'llmbatch',
      msg: 'No workflows registered',
    });
    const shown = plain(readableLine('worker', line));
    expect(shown).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(worker\): No workflows registered/);
    expect(shown).toContain('taskQueue: "llmbatch"');
    expect(shown).not.toContain('"level"');
    expect(shown).not.toContain('hostname');
  });

  it('passes other lines as they came, named by their process', () => {
    expect(readableLine('api', 'Error: boom')).toBe('[api] Error: boom');
    expect(readableLine('api', '{not json')).toBe('[api] {not json');
    expect(readableLine('api', '{"a":1}')).toBe('[api] {"a":1}');
  });
});
