/**
 * Resident memory of the API and the worker as development runs them (TypeScript through tsx, workflows
 * bundled at start-up) and as production does (`npm run build`'s dist/, the prebuilt workflow bundle).
 * One Temporal dev server and one simulator serve both; each variant gets its own API, worker and data dir.
 *
 *   npm run build && npx tsx bench/buildRss.ts [--items 2000] [--idle-s 20] [--latency-ms 20] [--variants tsx,dist]
 *
 * Idle: VmRSS after start-up and `--idle-s` seconds of nothing. Loaded: the peak VmRSS sampled every 100 ms
 * while one batch of `--items` review requests runs against the SIMULATED provider, and VmHWM at its end.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeReviewRequests } from '../examples/reviews';
import { httpOk, ManagedChild, REPO_ROOT, tsEntry, waitUntil } from '../src/cli/processes';
import { temporalReady } from '../src/cli/stack';
import { loadConfig } from '../src/config';
import { requireTemporalCliPath } from '../src/devServer/binary';
import { devServerCommand } from '../src/devServer/command';
import { sampleRss } from './rss';
import { freePort, runBatch } from './stack';

type Variant = 'tsx' | 'dist';
const ENTRIES = { worker: 'worker/workerMain', api: 'api/apiMain' } as const;
const say = (m: string): void => console.log(`buildRss: ${m}`);

function entry(variant: Variant, name: keyof typeof ENTRIES): { command: string; args: string[] } {
  if (variant === 'tsx') return tsEntry(`src/${ENTRIES[name]}.ts`);
  return { command: process.execPath, args: [join(REPO_ROOT, 'dist', `${ENTRIES[name]}.js`)] };
}

/** VmRSS of a process now, in MB. */
function vmRssMb(pid: number | undefined): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Measured {
  variant: Variant;
  startMs: number;
  idleMb: Record<string, number>;
  loadedPeakMb: Record<string, number>;
  highWaterMb: Record<string, number>;
  batchMs: number;
  /** The worker's log says it bundled workflows with webpack at start-up. */
  bundledAtStart: boolean;
}

/** Starts API and worker of one variant against the shared server and simulator, measures, stops them. */
async function measure(
  variant: Variant,
  env: NodeJS.ProcessEnv,
  opts: { items: number; idleS: number },
): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), `llmbatch-rss-${variant}-`));
  const childEnv = { ...env, LLMBATCH_DATA_DIR: dataDir };
  const apiUrl = `http://127.0.0.1:${env.API_PORT}`;
  const t0 = Date.now();
  const worker = new ManagedChild(
    { name: 'worker', ...entry(variant, 'worker'), env: childEnv },
    join(dataDir, 'logs'),
  );
  const api = new ManagedChild({ name: 'api', ...entry(variant, 'api'), env: childEnv }, join(dataDir, 'logs'));
  try {
    await Promise.all([
      worker.waitForLine(/llmbatch worker on task queue/, 120_000),
      waitUntil('API', () => httpOk(`${apiUrl}/healthz`), 60_000, api),
    ]);
    const startMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, opts.idleS * 1000));
    const pids = { api: api.process.pid, worker: worker.process.pid };
    const idleMb = { api: vmRssMb(pids.api), worker: vmRssMb(pids.worker) };
    const stop = sampleRss(pids);
    const run = await runBatch(apiUrl, makeReviewRequests(opts.items), 250);
    const figures = stop();
    return {
      variant,
      startMs,
      idleMb,
      loadedPeakMb: figures.peakMb,
      highWaterMb: figures.highWaterMb,
      batchMs: run.doneMs,
      bundledAtStart: readFileSync(worker.logFile, 'utf8').includes('Workflow bundle created'),
    };
  } finally {
    await api.stop();
    await worker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '2000' },
      'idle-s': { type: 'string', default: '20' },
      'latency-ms': { type: 'string', default: '20' },
      variants: { type: 'string', default: 'tsx,dist' },
    },
  });
  const opts = { items: Number(values.items), idleS: Number(values['idle-s']) };
  if (!existsSync(join(REPO_ROOT, 'dist', 'workflow-bundle.js'))) throw new Error('run `npm run build` first');
  const home = mkdtempSync(join(tmpdir(), 'llmbatch-rss-'));
  const [temporal, ui, provider, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const inherited = Object.keys(process.env).filter((k) => /^(LLMBATCH|OPENAI|SIM)_/.test(k));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of inherited) delete env[k];
  Object.assign(env, {
    LLMBATCH_DATA_DIR: home,
    LLMBATCH_AUTH: 'local',
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
    TEMPORAL_UI_PORT: String(ui),
    PROVIDER_PORT: String(provider),
    API_PORT: String(apiPort),
    API_HOST: '127.0.0.1',
  });
  delete env.DATABASE_URL;
  const config = loadConfig(env);
  const logs = join(home, 'logs');
  const server = new ManagedChild(
    { name: 'temporal', command: requireTemporalCliPath(env), args: devServerCommand(config).args, env },
    logs,
  );
  const simEnv = { ...env, SIM_LATENCY_MEDIAN_MS: values['latency-ms'] };
  const sim = new ManagedChild(
    { name: 'provider', ...tsEntry('src/provider/providerMain.ts', ['--port', String(provider)]), env: simEnv },
    logs,
  );
  try {
    await waitUntil('simulator', () => httpOk(`http://127.0.0.1:${provider}/healthz`), 30_000, sim);
    const ready = (): Promise<boolean> => temporalReady(config.temporal.address, config.temporal.namespace);
    await waitUntil('Temporal', ready, 60_000, server);
    const results: Measured[] = [];
    for (const variant of values.variants.split(',') as Variant[]) {
      say(`${variant}: starting API and worker`);
      const m = await measure(variant, env, opts);
      say(JSON.stringify(m));
      results.push(m);
    }
    printTable(results, opts.items);
  } finally {
    await sim.stop();
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

function printTable(results: Measured[], items: number): void {
  const mb = (n: number | undefined): string => (n === undefined ? '-' : `${Math.round(n)} MB`);
  console.log(
    '\n| | start-up | API idle | worker idle | API loaded (peak) | worker loaded (peak) | ' +
      `${items} items | webpack at start |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.variant === 'tsx' ? 'tsx (development)' : 'dist (compiled, prebuilt bundle)'} | ` +
        `${(r.startMs / 1000).toFixed(1)} s | ${mb(r.idleMb.api)} | ${mb(r.idleMb.worker)} | ` +
        `${mb(r.loadedPeakMb.api)} | ${mb(r.loadedPeakMb.worker)} | ${(r.batchMs / 1000).toFixed(1)} s | ` +
        `${r.bundledAtStart ? 'yes' : 'no'} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
