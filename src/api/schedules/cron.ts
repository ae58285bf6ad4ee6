/**
 * Checks a cron expression before a schedule is created, so that a typo is a 400 naming `cron` rather than a
 * gRPC error after the input has been stored. The grammar is the part of Temporal's that llmbatch documents:
 * five fields (minute hour day-of-month month day-of-week), each `*`, a number, a range, a step (`*\/15`,
 * `1-30/5`) or a comma list of those, with month and weekday names; or one of the @-macros.
 */

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The first name's number (months start at 1, weekdays at 0). */
  namesFrom?: number;
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in most crons.
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function value(text: string, field: Field): number | undefined {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (field.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
}

/** Why one field is wrong, or undefined. */
function fieldProblem(text: string, field: Field): string | undefined {
  for (const part of text.split(',')) {
    const [range = '', step, extra] = part.split('/');
    const bad = `${field.name} ${JSON.stringify(part)}: expected *, a number from ${field.min} to ${field.max}`;
    if (extra !== undefined || (step !== undefined && !/^[1-9]\d{0,1}$/.test(step))) return `${bad}, a range or a step`;
    if (range === '*') continue;
    const [from = '', to, more] = range.split('-');
    const low = value(from, field);
    const high = to === undefined ? low : value(to, field);
    if (more !== undefined || low === undefined || high === undefined || high < low) return `${bad} or a range a-b`;
  }
  return undefined;
}

/** Why `cron` is not a schedule llmbatch accepts, or undefined when it is. */
export function cronProblem(cron: string): string | undefined {
  const text = cron.trim();
  if (text.startsWith('@')) return MACROS.has(text) ? undefined : `unknown macro ${text}`;
  const fields = text.split(/\s+/);
  if (fields.length !== FIELDS.length)
    return `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (const [i, field] of FIELDS.entries()) {
    const problem = fieldProblem(fields[i]!, field);
    if (problem) return problem;
  }
  return undefined;
}
