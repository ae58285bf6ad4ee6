/**
 * npm start echoes the worker's and the API's output to its terminal. Their log lines are pino's JSON (what the
 * log files under <dataDir>/logs keep, for jq and log shippers); on a terminal a person reads them, so each JSON
 * line is shown as pino-pretty would write it. Anything else (a stack trace, a tool's own output) passes as is.
 */
import { prettyFactory } from 'pino-pretty';

const prettify = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });

/** `line` as a person should see it: a pino line made readable (its `name` shown), else `[name] line`. */
export function readableLine(name: string, line: string): string {
  if (line.startsWith('{')) {
    try {
      const entry: unknown = JSON.parse(line);
      if (typeof entry === 'object' && entry !== null && 'level' in entry && 'msg' in entry)
        return prettify(entry).trimEnd();
    } catch {
      // not JSON after all: shown as it came
    }
  }
  return `[${name}] ${line}`;
}
