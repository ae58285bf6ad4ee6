/**
 * The dev server's flags, shared by tests and `npm start`, so both run the
 * server the same way: search attributes, fairness on, fast SQLite.
 */
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/searchAttributes';

/** Registered on every server of ours (dev server flags here; docker-compose.yml registers the same). */
export const SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTE_TYPES;

export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=OFF'];

// Fairness lets each tenant's work share a task queue evenly (fairness keys).
// One partition per task queue: Temporal splits a queue's rate limit across partitions, each with
// its own burst, which lets a low limit (a chunk per second) overshoot; one partition keeps it exact.
export const DYNAMIC_CONFIG = [
  'matching.enableFairness=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

/** Flags beyond address/port/db that every dev server of ours gets. */
export function devServerExtraArgs(): string[] {
  return [
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ...DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
    ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
  ];
}
