/** Log lines captured in memory: a pino destination that keeps each line, parsed. */
export interface MemoryLog {
  lines: Array<Record<string, unknown>>;
  write: (line: string) => void;
}

export function memoryLog(): MemoryLog {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
}
