/**
 * Whether the Temporal server has llmbatch's search attributes registered (src/shared/searchAttributes.ts):
 * a start naming an unregistered one is refused, so the API sets them only where all are there. Asked once
 * per client and remembered; a server without them is reported once, naming what is missing and how to add it.
 */
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/searchAttributes';

const known = new WeakMap<Client, Promise<boolean>>();

export type Warn = (message: string) => void;

async function ask(client: Client, warn: Warn): Promise<boolean> {
  const namespace = client.options.namespace;
  const answer = await client.connection.operatorService.listSearchAttributes({ namespace });
  const registered = new Set(Object.keys(answer.customAttributes ?? {}));
  const missing = Object.keys(SEARCH_ATTRIBUTE_TYPES).filter((name) => !registered.has(name));
  if (missing.length === 0) return true;
  const commands = missing.map(
    (name) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${name} ` +
      `--type ${SEARCH_ATTRIBUTE_TYPES[name]}`,
  );
  warn(
    `Temporal namespace ${namespace} lacks the search attributes ${missing.join(', ')}: batches start without ` +
      `any, so the Web UI cannot filter them (register them, then restart the API: ${commands.join('; ')})`,
  );
  return false;
}

export function searchAttributesRegistered(client: Client, warn: Warn = console.warn): Promise<boolean> {
  let answer = known.get(client);
  if (!answer) {
    answer = ask(client, warn).catch(() => {
      // The server did not answer (the start will say so): ask again next time.
      known.delete(client);
      return false;
    });
    known.set(client, answer);
  }
  return answer;
}
