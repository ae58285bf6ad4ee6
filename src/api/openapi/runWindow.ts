/** The run window as progress shows it (BatchProgress.window), for the OpenAPI document; checked against its type. */
import { z } from 'zod';
import type { RunWindowView } from '../../shared/runWindow';
import type { Equal, Expect } from './typeChecks';

const hhmm = z.string().meta({ description: 'Local time, HH:MM (end before start: across midnight).' });
export const RunWindowViewSchema = z
  .object({ start: hhmm, end: hhmm, timezone: z.string(), open: z.boolean() })
  .extend({ opensAt: z.string().meta({ format: 'date-time' }), closesAt: z.string().meta({ format: 'date-time' }) })
  .meta({
    id: 'RunWindow',
    description: 'options.window: chunks run only inside it; whether it is open, and this or the next window.',
  });

export type RunWindowTypeCheck = Expect<Equal<z.infer<typeof RunWindowViewSchema>, RunWindowView>>;
