/**
 * Runs the slowest suites first. On a machine with no jest cache (CI's, always) jest orders files by
 * size, which left the 2–3 minute durability suites for last and the run's tail on one core. Files not
 * listed keep jest's own order (by last duration when it has one, else by size) after these.
 */
const Sequencer = require('@jest/test-sequencer').default;

// Slowest first, as measured in a full run; an entry that matches no file is ignored.
const SLOW = [
  'test/durability/rateLimit.test.ts',
  'test/workflows/batch.test.ts',
  'test/durability/sharedNothing.test.ts',
  'test/durability/nativeKill.test.ts',
  'test/durability/workerKill.test.ts',
  'test/bench/quick.test.ts',
  'test/durability/itemRetries.test.ts',
  'test/durability/laneLimit.test.ts',
  'test/durability/pipelineKill.test.ts',
  'test/cli/start.test.ts',
  'test/durability/gatherKill.test.ts',
  'test/api/requests.test.ts',
  'test/operations/metrics.test.ts',
  'test/console/console.test.ts',
  'test/durability/serverRestart.test.ts',
  'test/api/schedules.test.ts',
  'test/workflows/controls.test.ts',
  'test/durability/cli.test.ts',
  'test/workflows/nativeScale.test.ts',
  'test/workflows/nativeWorkflow.test.ts',
  'test/cli/stack.test.ts',
  'test/operations/runbook.test.ts',
];

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const i = SLOW.findIndex((s) => t.path.replace(/\\/g, '/').endsWith(s));
      return i < 0 ? SLOW.length : i;
    };
    const byJest = new Map(super.sort(tests).map((t, i) => [t, i]));
    return [...tests].sort((a, b) => rank(a) - rank(b) || byJest.get(a) - byJest.get(b));
  }
}

module.exports = SlowFirstSequencer;
