import { parseArgs } from 'node:util';
import { InvalidOptionError, parseOptions, type OptionName, type SimulatorOptions } from './options';

/** Every knob as a CLI flag (kebab-case) and an env var (SIM_ + UPPER_SNAKE). */
const KNOBS: readonly { name: OptionName; kind: 'string' | 'number'; help: string }[] = [
  { name: 'host', kind: 'string', help: 'interface to bind [127.0.0.1]' },
  { name: 'port', kind: 'number', help: 'port, 0 = any free port [8787]' },
  { name: 'apiKey', kind: 'string', help: 'require "Authorization: Bearer <key>" [any key accepted]' },
  { name: 'latencyMedianMs', kind: 'number', help: 'median latency of realtime calls [0]' },
  { name: 'latencyP99Ms', kind: 'number', help: '99th percentile latency [= median]' },
  { name: 'rpm', kind: 'number', help: 'requests per minute, 0 = unlimited [0]' },
  { name: 'tpm', kind: 'number', help: 'tokens per minute, 0 = unlimited [0]' },
  { name: 'rateBurstSeconds', kind: 'number', help: 'most admitted at once, in seconds of the limit (0-60] [1]' },
  { name: 'backgroundRpm', kind: 'number', help: 'requests per minute used by other clients of the limit [0]' },
  { name: 'backgroundTpm', kind: 'number', help: 'tokens per minute used by other clients of the limit [0]' },
  { name: 'errorRate', kind: 'number', help: 'fraction answered 500/502/503 [0]' },
  { name: 'hangRate', kind: 'number', help: 'fraction never answered [0]' },
  { name: 'malformedRate', kind: 'number', help: 'fraction answered 200 with a cut-off body [0]' },
  { name: 'throttleRate', kind: 'number', help: 'fraction answered 429 although within the limits [0]' },
  {
    name: 'invalidOutputRate',
    kind: 'number',
    help: 'fraction of first json_schema asks answered with output failing the schema [0]',
  },
  { name: 'batchLinesPerSecond', kind: 'number', help: 'native batch speed [1000]' },
  { name: 'batchValidatingMs', kind: 'number', help: 'time a batch spends validating [100]' },
  { name: 'batchFinalizingMs', kind: 'number', help: 'time a batch spends finalizing [100]' },
  { name: 'completionWindowMs', kind: 'number', help: 'real time before an unfinished batch expires [86400000]' },
  { name: 'maxBatchLines', kind: 'number', help: 'most requests in one batch [50000]' },
  { name: 'maxFileBytes', kind: 'number', help: 'largest upload [209715200]' },
  { name: 'dataDir', kind: 'string', help: 'where files are stored [a fresh temp dir]' },
  { name: 'seed', kind: 'number', help: 'seed of fault and latency randomness [0]' },
];

const CLI_DEFAULT_PORT = 8787;

/** latencyP99Ms -> ["latency", "P99", "Ms"] */
const words = (name: string): string[] => name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
export const flagOf = (name: string): string => `--${words(name).join('-').toLowerCase()}`;
export const envOf = (name: string): string => `SIM_${words(name).join('_').toUpperCase()}`;

export type CliResult =
  { kind: 'run'; options: SimulatorOptions } | { kind: 'help'; text: string } | { kind: 'error'; message: string };

/** argv + env -> validated options. Flags win over env vars; every error names its flag or variable. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: joinNegativeValues(argv),
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(KNOBS.map((k) => [flagOf(k.name).slice(2), { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values;
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  if (values.help === true) return { kind: 'help', text: usage() };

  const options: Record<string, unknown> = { port: CLI_DEFAULT_PORT };
  const sources = new Map<string, string>();
  for (const knob of KNOBS) {
    const flag = flagOf(knob.name);
    const fromFlag = values[flag.slice(2)];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[envOf(knob.name)];
    if (raw === undefined) continue;
    const source = typeof fromFlag === 'string' ? flag : envOf(knob.name);
    sources.set(knob.name, source);
    if (knob.kind === 'number') {
      const value = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(value))
        return { kind: 'error', message: `Invalid value for ${source}: '${raw}' is not a number.` };
      options[knob.name] = value;
    } else {
      options[knob.name] = raw;
    }
  }
  try {
    return { kind: 'run', options: parseOptions(options) };
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    const source = sources.get(err.option) ?? flagOf(err.option);
    return { kind: 'error', message: `Invalid value for ${source}: ${err.reason}` };
  }
}

/** parseArgs reads "--rpm -3" as two flags; "--rpm=-3" is what the user meant. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-[\d.]/.test(next)) {
      result.push(`${arg}=${next}`);
      i += 1;
    } else {
      result.push(arg);
    }
  }
  return result;
}

export function usage(): string {
  const lines = KNOBS.map(
    (k) => `  ${`${flagOf(k.name)} <${k.kind}>`.padEnd(34)} ${envOf(k.name).padEnd(30)} ${k.help}`,
  );
  return [
    'llmbatch simulated OpenAI provider (NOT a real LLM)',
    '',
    'Usage: npm run provider -- [flags]',
    '',
    '  flag                               env var                        meaning [default]',
    ...lines,
    '  --help                             show this text',
  ].join('\n');
}
