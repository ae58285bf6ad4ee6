/** `npm run temporal`: the Temporal dev server with our search attributes, fairness and persistence. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfigOrExit } from '../config';
import { requireTemporalCliPath } from './binary';
import { devServerCommand } from './command';

const config = loadConfigOrExit();
const cli = requireTemporalCliPath(process.env, (m) => console.log(m));
const cmd = devServerCommand(config);
mkdirSync(dirname(cmd.dbFile), { recursive: true });
console.log(`Temporal dev server: ${cli} (data ${cmd.dbFile}); Web UI ${cmd.uiUrl}`);
const child = spawn(cli, cmd.args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
