/** The command line that runs our Temporal dev server, persisted under the data dir. */
import { join, resolve } from 'node:path';
import type { Config } from '../config';
import { devServerExtraArgs } from './serverArgs';

export interface DevServerCommand {
  args: string[];
  dbFile: string;
  grpcPort: number;
  uiUrl: string;
}

export function devServerCommand(config: Config): DevServerCommand {
  const [host = '127.0.0.1', portText = '7233'] = config.temporal.address.split(':');
  const grpcPort = Number(portText);
  const dbFile = resolve(join(config.dataDir, 'temporal.sqlite'));
  return {
    args: [
      'server',
      'start-dev',
      '--ip',
      host,
      '--port',
      String(grpcPort),
      '--ui-port',
      String(config.temporal.uiPort),
      '--namespace',
      config.temporal.namespace,
      '--db-filename',
      dbFile,
      '--ui-disable-news-fetch',
      ...devServerExtraArgs(),
    ],
    dbFile,
    grpcPort,
    uiUrl: `http://${host}:${config.temporal.uiPort}`,
  };
}
