/**
 * The one logger factory of the API, the workers and the storage: pino, JSON lines on stdout (one object a
 * line, for a log shipper), or pino-pretty's colours when stdout is a terminal (a person is reading).
 * The rule is that no prompt, response body, API key or webhook secret is ever passed to a logger; the
 * redaction paths below are defence in depth for a field that slips through under a telling name.
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Level, Logger } from 'pino';

/** Fields that would hold a request or response body, or a credential, wherever they appear (two levels deep). */
const SENSITIVE_FIELDS = [
  'body',
  'messages',
  'input',
  'prompt',
  'key',
  'apiKey',
  'api_key',
  'secret',
  'password',
  'authorization',
];

/** Request and response headers that carry credentials. */
const SENSITIVE_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key'].flatMap((h) => [
  `headers["${h}"]`,
  `*.headers["${h}"]`,
  `*.*.headers["${h}"]`,
]);

export const REDACT_PATHS: readonly string[] = [
  ...SENSITIVE_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ...SENSITIVE_HEADERS,
];

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** The least severe level written (LLMBATCH_LOG_LEVEL); `silent` writes nothing. */
  level: Level | 'silent';
  /** The process or component, in every line as `name` (api, worker, storage...). */
  name: string;
  /** Where lines go; default stdout. Tests pass a stream of their own. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON; default: when stdout is a terminal and no destination is given. */
  pretty?: boolean;
}

export function createLogger({ level, name, destination, pretty: readable }: LoggerOptions): Logger {
  const human = readable ?? (destination === undefined && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    // ISO times read at a glance and sort as text; epoch milliseconds would need converting.
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  // Synchronous writes: a line logged just before process.exit (a failed start) is not lost.
  const out =
    destination ??
    (human
      ? pretty({ destination: 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: 1, sync: true }));
  return pino(options, out);
}
