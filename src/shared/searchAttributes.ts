/**
 * The search attributes every batch workflow carries, written once: the Web UI and
 * `temporal workflow list --query 'LlmbatchStatus="running" AND LlmbatchTenant="acme"'` filter on them, and
 * the API's gauges count batches by them. The dev server's flags (src/devServer/serverArgs.ts) and the
 * deployment (docker-compose.yml) register these names with these types.
 *
 * A key is the plain object `{ name, type }` that @temporalio/common's defineSearchAttributeKey returns,
 * built here without loading that package (as temporalDefinitions.ts does for signals): workflows'
 * upsertSearchAttributes and the client's typedSearchAttributes accept it as it is.
 */
import type { SearchAttributePair } from '@temporalio/common';

/** @temporalio/common's SearchAttributeKey<T>, which its index does not export. */
type Key<T extends SearchAttributePair['key']['type']> = Extract<SearchAttributePair, { key: { type: T } }>['key'];

const key = <T extends 'KEYWORD' | 'INT'>(name: string, type: T): Key<T> => ({ name, type }) as Key<T>;

export const SearchAttributeKeys = {
  tenant: key('LlmbatchTenant', 'KEYWORD'),
  /** realtime | native */
  mode: key('LlmbatchMode', 'KEYWORD'),
  /** running | paused | completed | failed | cancelled: kept current by the workflow, on changes only. */
  status: key('LlmbatchStatus', 'KEYWORD'),
  /** The batch's model; `mixed` when its lines name more than one. */
  model: key('LlmbatchModel', 'KEYWORD'),
  /** 1 (first) to 5 (last), kept current by the workflow. */
  priority: key('LlmbatchPriority', 'INT'),
  /** The schedule whose run created the batch (POST /schedules); absent on other batches. */
  scheduleId: key('LlmbatchScheduleId', 'KEYWORD'),
} as const;

/** The names and types as the Temporal CLI spells them (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTE_TYPES: Readonly<Record<string, 'Keyword' | 'Int'>> = Object.fromEntries(
  Object.values(SearchAttributeKeys).map((k) => [k.name, k.type === 'INT' ? 'Int' : 'Keyword']),
);
