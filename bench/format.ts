/** Number formatting and markdown tables shared by the report and its explanations. */
export const int = (x: number): string => Math.round(x).toLocaleString('en-US');
export const ms = (x: number): string => `${x >= 100 ? int(x) : x.toFixed(1)} ms`;
export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
export const md = (head: string[], body: string[][]): string =>
  [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
