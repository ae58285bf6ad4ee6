/** pipelines.test.ts again, with PostgreSQL as the data plane (a fresh database, dropped after). */
import { onPostgres, openedStores } from '../helpers/apiStack';

onPostgres();
// After onPostgres: a static import would be hoisted above it and build its stack on the file store.
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./pipelines.test');

test('the suite ran on PostgreSQL', () => {
  expect(openedStores()).toEqual(['postgres']);
});
