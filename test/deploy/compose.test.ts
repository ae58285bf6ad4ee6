/**
 * The deployment description (docker-compose.yml, Dockerfile) is run on other
 * machines, never here, so it is checked against the code instead: the files
 * it names exist, the environment it sets is what config.ts and the simulator
 * read (and parses), the search attributes and dynamic config match what the
 * dev server gets, and the ports and volumes fit together.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { CONFIG_ENV_VARS, loadConfig } from '../../src/config';
import { envOf, flagOf, parseCli } from '../../src/provider/cliOptions';
import { simulatorOptionsSchema } from '../../src/provider/options';
import { DYNAMIC_CONFIG, SEARCH_ATTRIBUTES } from '../../src/devServer/serverArgs';
import { buildConfig, compiledPath, OUR_SERVICES, ROOT } from './build';
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

type EnvValue = string | number | boolean | null;
type PortSpec = string | number | { target: number | string; published?: number | string; protocol?: string };
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: PortSpec[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  profiles?: string[];
  deploy?: { replicas?: number };
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const EXPECTED_SERVICES = [
  'postgresql',
  'llmbatch-db',
  'temporal',
  'temporal-admin-tools',
  'temporal-ui',
  'prometheus',
  ...Object.keys(OUR_SERVICES),
];

function loadCompose(): { compose: ComposeFile | null; errors: string[]; warnings: string[] } {
  // Compose resolves YAML merge keys (<<: *anchor); so must we.
  const doc = parseDocument(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true, uniqueKeys: true });
  return {
    compose: doc.toJS({ maxAliasCount: 100 }) as ComposeFile | null,
    errors: doc.errors.map((e) => e.message),
    warnings: doc.warnings.map((w) => w.message),
  };
}

const compose: ComposeFile = loadCompose().compose ?? { services: {} };
const services = compose.services ?? {};

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/** The environment block as written: null means "pass through from the user's shell if set". */
function rawEnv(s: Service): Map<string, string | null> {
  const env = new Map<string, string | null>();
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const eq = entry.indexOf('=');
      if (eq === -1) env.set(entry, null);
      else env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) env.set(k, v === null ? null : String(v));
  }
  return env;
}

/** Compose's variable interpolation, enough for this file: $$, ${X}, ${X:-d}, ${X-d}, ${X:?msg}, ${X?msg}. */
function interpolate(value: string, shell: Record<string, string>): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return value.replace(pattern, (whole, name?: string, colon?: string, op?: string, arg = '', bare?: string) => {
    if (whole === '$$') return '$';
    const v = shell[(name ?? bare)!];
    if (v !== undefined && !(colon === ':' && v === '')) return v;
    if (op === '-') return arg;
    if (op === '?') throw new Error(`docker-compose.yml requires ${name}: ${arg}`);
    return v ?? '';
  });
}

/** The environment a container gets when the user's shell sets `shell`. */
function resolvedEnv(s: Service, shell: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of rawEnv(s)) {
    if (v === null) {
      if (shell[k] !== undefined) out[k] = shell[k];
    } else {
      out[k] = interpolate(v, shell);
    }
  }
  return out;
}

/** What a service's command passes to the program it runs (node's script path dropped). */
function programArgs(command: string | string[] | undefined): string[] {
  return argv(command).slice(2);
}

function argv(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}

function dependencies(s: Service): Map<string, string | undefined> {
  if (Array.isArray(s.depends_on)) return new Map(s.depends_on.map((d) => [d, undefined]));
  return new Map(Object.entries(s.depends_on ?? {}).map(([d, v]) => [d, v?.condition]));
}

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

function buildOf(s: Service): { context: string; dockerfile: string } | undefined {
  if (s.build === undefined) return undefined;
  if (typeof s.build === 'string') return { context: s.build, dockerfile: 'Dockerfile' };
  return { context: s.build.context ?? '.', dockerfile: s.build.dockerfile ?? 'Dockerfile' };
}

interface Published {
  hostPort: number;
  containerPort: number;
  protocol: string;
}

function expandRange(text: string): number[] {
  const [from, to] = text.split('-').map(Number);
  if (from === undefined || Number.isNaN(from)) throw new Error(`bad port "${text}"`);
  if (to === undefined) return [from];
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Host ports a service publishes (ports with no host side get a random one and cannot collide). */
function publishedPorts(s: Service): Published[] {
  const out: Published[] = [];
  for (const spec of s.ports ?? []) {
    if (typeof spec === 'object') {
      if (spec.published === undefined) continue;
      const hosts = expandRange(String(spec.published));
      const containers = expandRange(String(spec.target));
      hosts.forEach((hostPort, i) =>
        out.push({ hostPort, containerPort: containers[i] ?? containers[0]!, protocol: spec.protocol ?? 'tcp' }),
      );
      continue;
    }
    const [mapping = '', protocol = 'tcp'] = String(spec).split('/');
    const parts = mapping.split(':');
    if (parts.length === 1) continue;
    // HOST:CONTAINER or IP:HOST:CONTAINER
    const [host, container] = parts.slice(-2);
    const hosts = expandRange(host!);
    const containers = expandRange(container!);
    hosts.forEach((hostPort, i) => out.push({ hostPort, containerPort: containers[i] ?? containers[0]!, protocol }));
  }
  return out;
}

/** Named-volume and bind mounts as {source, target}. */
function mounts(s: Service): { source: string; target: string }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source ?? '', target: v.target };
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}

/** The simulator's knobs, as the SIM_* variables and flags its CLI (src/provider/cliOptions.ts) reads. */
const SIMULATOR_OPTIONS = Object.keys(simulatorOptionsSchema.shape);
const SIMULATOR_ENV = new Set(SIMULATOR_OPTIONS.map(envOf));
const SIMULATOR_FLAGS = new Set(SIMULATOR_OPTIONS.map(flagOf));

describe('docker-compose.yml', () => {
  test('parses as YAML, with every merge key resolved', () => {
    const { errors, warnings } = loadCompose();
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(typeof compose.services).toBe('object');
    for (const [name, s] of Object.entries(services)) {
      expect({ name, keys: Object.keys(s).filter((k) => k === '<<') }).toEqual({ name, keys: [] });
      expect({ name, env: [...rawEnv(s).keys()].filter((k) => k === '<<') }).toEqual({ name, env: [] });
    }
  });

  test('has the services of the scale-out shape', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(EXPECTED_SERVICES));
  });

  test('every depends_on target is a service, and enabled whenever its dependant is', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, condition] of dependencies(s)) {
        expect({ service: name, dependsOn: dep, exists: dep in services }).toEqual({
          service: name,
          dependsOn: dep,
          exists: true,
        });
        expect(dep).not.toBe(name);
        if (condition !== undefined)
          expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy')
          expect({ dep, healthcheck: 'healthcheck' in (services[dep] ?? {}) }).toEqual({ dep, healthcheck: true });
        // A dependency hidden behind a profile the dependant lacks breaks a plain `docker compose up`.
        const depProfiles = services[dep]?.profiles ?? [];
        if (depProfiles.length > 0) {
          const own = s.profiles ?? [];
          expect({ service: name, dependsOn: dep, sharesProfile: own.some((p) => depProfiles.includes(p)) }).toEqual({
            service: name,
            dependsOn: dep,
            sharesProfile: true,
          });
        }
      }
    }
  });

  test('every build context exists and holds its Dockerfile', () => {
    const built = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(built.map(([n]) => n).sort()).toEqual(Object.keys(OUR_SERVICES).sort());
    for (const [name, s] of built) {
      const { context, dockerfile } = buildOf(s)!;
      const dir = resolve(ROOT, context);
      expect({ name, context: existsSync(dir) && statSync(dir).isDirectory() }).toEqual({ name, context: true });
      expect({ name, dockerfile: existsSync(resolve(dir, dockerfile)) }).toEqual({ name, dockerfile: true });
    }
  });

  test('every image is pinned to a version', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, image: s.image }).toEqual({
        name,
        image: expect.stringMatching(/^[^:@\s]+(:[\w][\w.-]*)?(@sha256:[0-9a-f]{64})?$/),
      });
      if (s.build !== undefined) continue; // our own image: built locally, the tag just names it
      expect({ name, image: s.image }).toEqual({
        name,
        image: expect.stringMatching(/:(?!latest\b)[\w][\w.-]*$|@sha256:/),
      });
    }
    expect(service('temporal').image).toMatch(/^temporalio\/auto-setup:1\.2\d\.\d+$/);
    expect(service('postgresql').image).toMatch(/^postgres:16(\.|$)/);
  });

  describe.each(Object.entries(OUR_SERVICES))('service %s', (name, entry) => {
    test(`runs ${entry} compiled by npm run build, with plain node, and the source exists`, () => {
      const args = argv(service(name).command);
      expect(args[0]).toBe('node');
      const script = args[1]!;
      expect(script).toBe(compiledPath(entry));
      expect(isAbsolute(script)).toBe(false);
      expect(posix.normalize(script).startsWith('dist/')).toBe(true);
      expect(existsSync(join(ROOT, entry))).toBe(true);
    });

    test('is built from the Dockerfile at the repository root', () => {
      expect(buildOf(service(name))).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(service(name).image).toBe(service('worker').image);
    });
  });

  describe('environment', () => {
    test.each(['worker', 'api'])('every variable set on %s is one src/config.ts reads', (name) => {
      const known = new Set<string>(CONFIG_ENV_VARS);
      const unknown = [...rawEnv(service(name)).keys()].filter((k) => !known.has(k));
      expect(unknown).toEqual([]);
    });

    test('CONFIG_ENV_VARS lists the schema (sanity check of the export)', () => {
      expect(CONFIG_ENV_VARS).toEqual(
        expect.arrayContaining(['TEMPORAL_ADDRESS', 'OPENAI_BASE_URL', 'LLMBATCH_DATA_DIR', 'API_HOST']),
      );
    });

    test('every variable set on provider is a SIM_* knob of the simulator, and every flag a knob too', () => {
      const s = service('provider');
      expect([...rawEnv(s).keys()].filter((k) => !SIMULATOR_ENV.has(k))).toEqual([]);
      const flags = programArgs(s.command)
        .filter((a) => a.startsWith('--'))
        .map((a) => a.split('=')[0]!);
      expect(flags.filter((f) => !SIMULATOR_FLAGS.has(f))).toEqual([]);
    });

    test("the simulator's own CLI accepts the provider service's flags and environment", () => {
      const s = service('provider');
      const args = argv(s.command);
      const cli = parseCli(programArgs(s.command), resolvedEnv(s));
      if (cli.kind !== 'run')
        throw new Error(
          `src/provider/providerMain.ts would refuse to start: ${cli.kind === 'error' ? cli.message : cli.kind}`,
        );
      // It must listen beyond loopback for other containers to reach it.
      expect(cli.options.host).toBe('0.0.0.0');
      expect(cli.options.port).toBe(Number(flagValue(args, '--port')));
      expect(cli.options.port).toBeGreaterThan(0);
    });

    test('worker and api configure cleanly with no user settings (simulator defaults)', () => {
      const worker = loadConfig(resolvedEnv(service('worker')));
      const api = loadConfig(resolvedEnv(service('api')));
      const providerArgs = argv(service('provider').command);
      // The default provider is the simulator service, at the port it listens on.
      expect(new URL(worker.provider.baseURL).hostname).toBe('provider');
      expect(new URL(worker.provider.baseURL).port).toBe(flagValue(providerArgs, '--port'));
      expect(new URL(worker.provider.baseURL).pathname).toBe('/v1');
      expect(worker.provider.apiKey).not.toBe('');
      // The API must listen beyond loopback inside its container.
      expect(api.api.host).toBe('0.0.0.0');
      // Worker and API must meet on the same server, namespace, task queue and files.
      expect(api.temporal).toEqual(worker.temporal);
      expect(api.dataDir).toBe(worker.dataDir);
      expect(worker.temporal.address).toBe('temporal:7233');
    });

    test('a real provider from the user environment reaches the worker', () => {
      const shell = { OPENAI_BASE_URL: 'https://api.openai.com/v1', OPENAI_API_KEY: 'sk-real' };
      const worker = loadConfig(resolvedEnv(service('worker'), shell));
      expect(worker.provider).toMatchObject({
        simulated: false,
        baseURL: 'https://api.openai.com/v1',
        apiKey: 'sk-real',
      });
    });
  });

  describe('temporal-admin-tools', () => {
    /** The script as the shell receives it (compose turns $$ into $). */
    const script = (): string => {
      const command = service('temporal-admin-tools').command;
      return interpolate(Array.isArray(command) ? command.join('\n') : (command ?? ''), {});
    };
    const createLines = (): string[] =>
      script()
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /search-attribute\s+create\b/.test(line));

    test('registers exactly SEARCH_ATTRIBUTES from src/devServer/serverArgs.ts', () => {
      const registered: Record<string, string> = {};
      expect(createLines().length).toBeGreaterThan(0);
      for (const line of createLines()) {
        const name = /--name[=\s]+"?([\w-]+)"?/.exec(line)?.[1];
        const type = /--type[=\s]+"?([\w-]+)"?/.exec(line)?.[1];
        expect({ line, name, type }).toEqual({ line, name: expect.any(String), type: expect.any(String) });
        expect({ duplicate: name, seen: registered[name!] }).toEqual({ duplicate: name, seen: undefined });
        registered[name!] = type!;
      }
      expect(registered).toEqual(SEARCH_ATTRIBUTES);
    });

    test('retries each registration until the server is up', () => {
      for (const line of createLines())
        expect(line).toMatch(/^until temporal operator search-attribute create .*; do .+; done$/);
      expect(script()).toMatch(/\bsleep \d/);
      // The image's own entrypoint only sleeps: without an override the script never runs.
      expect(argv(service('temporal-admin-tools').entrypoint)).toEqual(['/bin/sh', '-c']);
    });

    test('targets the server and namespace the worker and api use', () => {
      const tools = resolvedEnv(service('temporal-admin-tools'));
      const worker = loadConfig(resolvedEnv(service('worker')));
      expect(tools.TEMPORAL_ADDRESS).toBe(worker.temporal.address);
      expect(tools.TEMPORAL_NAMESPACE).toBe(worker.temporal.namespace);
      for (const line of createLines()) {
        expect(line).toContain('--address "$TEMPORAL_ADDRESS"');
        expect(line).toContain('--namespace "$TEMPORAL_NAMESPACE"');
      }
    });

    test('is a one-shot the worker and api wait for', () => {
      expect(service('temporal-admin-tools').restart).toBe('no');
      expect(dependencies(service('temporal-admin-tools')).has('temporal')).toBe(true);
      for (const name of ['worker', 'api']) {
        expect({ name, condition: dependencies(service(name)).get('temporal-admin-tools') }).toEqual({
          name,
          condition: 'service_completed_successfully',
        });
      }
    });
  });

  describe('temporal', () => {
    test('uses PostgreSQL', () => {
      const env = resolvedEnv(service('temporal'));
      const pg = resolvedEnv(service('postgresql'));
      expect(env).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', DB_PORT: '5432' });
      expect(env.POSTGRES_USER).toBe(pg.POSTGRES_USER);
      expect(env.POSTGRES_PWD).toBe(pg.POSTGRES_PASSWORD);
      expect(dependencies(service('temporal')).get('postgresql')).toBe('service_healthy');
      expect(
        mounts(service('postgresql')).some(
          (m) => m.target === '/var/lib/postgresql/data' && m.source in (compose.volumes ?? {}),
        ),
      ).toBe(true);
    });

    test('mounts a dynamic config file that exists and has every DYNAMIC_CONFIG value (fairness on)', () => {
      const s = service('temporal');
      const path = resolvedEnv(s).DYNAMIC_CONFIG_FILE_PATH!;
      expect(path).toBeDefined();
      const inContainer = posix.isAbsolute(path) ? path : posix.join('/etc/temporal', path);
      const mount = mounts(s).find((m) => inContainer.startsWith(`${m.target}/`));
      expect(mount).toBeDefined();
      const hostFile = resolve(ROOT, mount!.source, posix.relative(mount!.target, inContainer));
      expect(relative(ROOT, hostFile)).toBe(join('deploy', 'temporal', 'dynamicconfig', 'development.yaml'));
      expect(existsSync(hostFile)).toBe(true);

      const doc = parseDocument(readFileSync(hostFile, 'utf8'));
      expect(doc.errors).toEqual([]);
      const config = doc.toJS() as Record<string, { value: unknown; constraints?: Record<string, unknown> }[]>;
      const globalValue = (key: string): unknown =>
        config[key]?.find((v) => v.constraints === undefined || Object.keys(v.constraints).length === 0)?.value;
      expect(globalValue('matching.enableFairness')).toBe(true);
      for (const setting of DYNAMIC_CONFIG) {
        const [key = '', raw = ''] = setting.split('=');
        const expected: unknown =
          raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
        expect({ key, value: globalValue(key) }).toEqual({ key, value: expected });
      }
    });
  });

  describe('prometheus', () => {
    interface ScrapeConfig {
      job_name: string;
      static_configs?: { targets: string[] }[];
      dns_sd_configs?: { names: string[]; type?: string; port: number }[];
    }
    /** The config file the service runs, read from the directory it mounts. */
    const mounted = (): { hostDir: string; file: string } => {
      const args = argv(service('prometheus').command);
      const inContainer = args.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '';
      const mount = mounts(service('prometheus')).find((m) => inContainer.startsWith(`${m.target}/`));
      if (!mount) throw new Error(`no volume holds --config.file ${inContainer}`);
      return { hostDir: resolve(ROOT, mount.source), file: posix.relative(mount.target, inContainer) };
    };

    test('mounts deploy/prometheus read-only and runs its compose config, whose rule files are there', () => {
      const { hostDir, file } = mounted();
      expect(relative(ROOT, hostDir)).toBe(join('deploy', 'prometheus'));
      expect(file).toBe('prometheus.compose.yml');
      expect(service('prometheus').volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
      const config = parseDocument(readFileSync(join(hostDir, file), 'utf8')).toJS() as { rule_files: string[] };
      expect(config.rule_files).toEqual(['alerts.yml']);
      for (const rules of config.rule_files) expect(existsSync(join(hostDir, rules))).toBe(true);
      // Its data in a named volume, so a restart keeps the series.
      expect(
        mounts(service('prometheus')).some((m) => m.target === '/prometheus' && m.source in (compose.volumes ?? {})),
      ).toBe(true);
    });

    test('scrapes the API and every worker replica on the ports they serve /metrics on', () => {
      const { hostDir, file } = mounted();
      const jobs = (
        parseDocument(readFileSync(join(hostDir, file), 'utf8')).toJS() as { scrape_configs: ScrapeConfig[] }
      ).scrape_configs;
      const job = (name: string): ScrapeConfig | undefined => jobs.find((j) => j.job_name === name);
      const api = loadConfig(resolvedEnv(service('api')));
      expect(job('llmbatch-api')?.static_configs).toEqual([{ targets: [`api:${api.api.port}`] }]);
      const worker = loadConfig(resolvedEnv(service('worker')));
      // Bound beyond loopback, or other containers cannot reach it.
      expect(worker.worker.metrics).toEqual({ host: '0.0.0.0', port: expect.any(Number) });
      // DNS service discovery: the compose network answers "worker" with each replica's address.
      expect(job('llmbatch-worker')?.dns_sd_configs).toEqual([
        { names: ['worker'], type: 'A', port: worker.worker.metrics?.port },
      ]);
      for (const dep of ['api', 'worker']) expect(dependencies(service('prometheus')).has(dep)).toBe(true);
    });
  });

  describe('ports and volumes', () => {
    test('published host ports do not collide', () => {
      const owner = new Map<string, string>();
      for (const [name, s] of Object.entries(services)) {
        for (const p of publishedPorts(s)) {
          // Treat every binding as host-wide: a port on 0.0.0.0 clashes with any address.
          const key = `${p.hostPort}/${p.protocol}`;
          expect({ port: key, publishedBy: owner.get(key) ?? name }).toEqual({ port: key, publishedBy: name });
          owner.set(key, name);
        }
      }
      expect(owner.size).toBeGreaterThan(0);
    });

    test('replicated services publish no fixed host port (replicas would fight over it)', () => {
      for (const [name, s] of Object.entries(services)) {
        if ((s.deploy?.replicas ?? 1) > 1)
          expect({ name, published: publishedPorts(s) }).toEqual({ name, published: [] });
      }
    });

    test('the API, UI and simulator are published on the ports they listen on', () => {
      const api = loadConfig(resolvedEnv(service('api')));
      expect(publishedPorts(service('api')).map((p) => p.containerPort)).toContain(api.api.port);
      expect(publishedPorts(service('temporal-ui')).map((p) => [p.hostPort, p.containerPort])).toContainEqual([
        8233, 8080,
      ]);
      expect(resolvedEnv(service('temporal-ui')).TEMPORAL_ADDRESS).toBe('temporal:7233');
      const port = Number(flagValue(argv(service('provider').command), '--port'));
      expect(publishedPorts(service('provider')).map((p) => p.containerPort)).toContain(port);
    });

    test(
      'the worker scales out; every replica and the API share one DATABASE_URL, a database of their own on the ' +
        'compose PostgreSQL, and no volume',
      () => {
        expect(service('worker').deploy?.replicas).toBeGreaterThanOrEqual(2);
        const pg = resolvedEnv(service('postgresql'));
        const urls = ['worker', 'api'].map((name) => loadConfig(resolvedEnv(service(name))).database?.url);
        expect(urls[0]).toBeDefined();
        expect(urls[1]).toBe(urls[0]);
        const url = new URL(urls[0]!);
        expect([url.hostname, url.port, url.username, url.password]).toEqual([
          'postgresql',
          '5432',
          pg.POSTGRES_USER,
          pg.POSTGRES_PASSWORD,
        ]);
        const database = url.pathname.slice(1);
        expect(database).not.toBe('temporal'); // Temporal's own database stays Temporal's
        // llmbatch-db creates exactly that database, and both wait for it.
        expect(String(service('llmbatch-db').command)).toContain(`CREATE DATABASE ${database}`);
        expect(resolvedEnv(service('llmbatch-db')).PGHOST).toBe('postgresql');
        for (const name of ['worker', 'api']) {
          expect(dependencies(service(name)).get('llmbatch-db')).toBe('service_completed_successfully');
          expect({ name, mounts: mounts(service(name)) }).toEqual({ name, mounts: [] });
        }
      },
    );

    test('the simulator is opt-in through the "simulator" profile; the rest always starts', () => {
      expect(service('provider').profiles).toEqual(['simulator']);
      for (const name of EXPECTED_SERVICES.filter((n) => n !== 'provider'))
        expect({ name, profiles: service(name).profiles }).toEqual({ name, profiles: undefined });
    });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  /** The instructions of each stage, FROM first. */
  const stages: string[][] = [];
  for (const line of instructions) {
    if (/^FROM /i.test(line)) stages.push([]);
    stages[stages.length - 1]?.push(line);
  }
  const of = (op: string, lines = instructions): string[] =>
    lines.filter((l) => l.toUpperCase().startsWith(`${op} `)).map((l) => l.slice(op.length + 1).trim());
  const buildStage = stages[0] ?? [];
  const runtimeStage = stages[stages.length - 1] ?? [];
  /** Sources of each COPY (flags dropped), as written. */
  const copiedIn = (lines: string[]): string[] =>
    of('COPY', lines).flatMap((c) =>
      c
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1)
        .map((a) => a.replace(/^\.\//, '').replace(/\/$/, '')),
    );

  test('is based on node:20-slim: a build stage, then the runtime stage', () => {
    expect(of('FROM')).toEqual([
      expect.stringMatching(/^node:20(\.[\d.]+)?-slim AS build$/i),
      expect.stringMatching(/^node:20(\.[\d.]+)?-slim$/),
    ]);
  });

  test('runs as a non-root user', () => {
    const users = of('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
  });

  test('installs exactly the lockfile with npm ci: everything to build, production dependencies to run', () => {
    // package-lock.json is copied in before each install; npm ci installs it as it is or fails.
    for (const stage of [buildStage, runtimeStage]) {
      const lockCopied = stage.findIndex((l) => /^COPY .*package-lock\.json/i.test(l));
      const installed = stage.findIndex((l) => /^RUN .*\bnpm ci\b/i.test(l));
      expect({ lockCopied: lockCopied >= 0, installedAfter: installed > lockCopied }).toEqual({
        lockCopied: true,
        installedAfter: true,
      });
    }
    expect(of('RUN').filter((r) => /\bnpm (install|i)\b/.test(r))).toEqual([]);
    expect(of('RUN', buildStage).filter((r) => /\bnpm ci\b/.test(r) && /--omit=dev|--production/.test(r))).toEqual([]);
    expect(of('RUN', runtimeStage).some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(of('RUN', buildStage)).toContain('npm run build');
  });

  test('builds from what tsconfig.build.json compiles, and the runtime stage holds dist/ and no source', () => {
    const config = buildConfig();
    const needed = ['package.json', 'package-lock.json', 'tsconfig.build.json', ...(config.include ?? [])];
    if (config.extends) needed.push(config.extends.replace(/^\.\//, ''));
    const built = copiedIn(buildStage);
    for (const file of needed) expect({ file, copied: built.includes(file) }).toEqual({ file, copied: true });
    const runtime = copiedIn(runtimeStage);
    // The OpenAPI document reads the version from package.json beside dist/.
    expect(runtime).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    expect(runtime).not.toContain('src');
    const fromBuild = of('COPY', runtimeStage).filter((c) => c.startsWith('--from=build'));
    const workdir = of('WORKDIR', buildStage)[0];
    expect(fromBuild).toEqual([`--from=build ${posix.join(workdir ?? '', 'dist')} ./dist`]);
  });

  test('defaults to the worker, compiled, with plain node', () => {
    const cmd = of('CMD');
    expect(cmd).toHaveLength(1);
    const args = JSON.parse(cmd[0]!) as string[];
    expect(args).toEqual(['node', compiledPath(OUR_SERVICES.worker)]);
    expect(of('WORKDIR', runtimeStage)).toEqual(of('WORKDIR', buildStage));
  });

  test('.dockerignore keeps local state and a local build out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim().replace(/^\//, '').replace(/\/$/, ''));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.git', 'coverage', 'dist']));
  });
});
