/** Lanes with a task queue of their own: one per (endpoint, model), or per name. */
import { laneTaskQueue, type Lane } from '../shared/contracts';
import { ConfigError, type ConfiguredLane } from './types';

export function configuredLanes(lanes: Lane[], baseQueue: string): ConfiguredLane[] {
  const seen = new Set<string>();
  return lanes.map((lane, i) => {
    const taskQueue = laneTaskQueue(baseQueue, lane.endpoint, lane.model, lane.name);
    if (seen.has(taskQueue)) {
      const what =
        lane.name === undefined
          ? `${lane.endpoint} ${lane.model} is listed twice (name the lanes to split one model's quota)`
          : `the name ${lane.name} is used twice`;
      throw new ConfigError(`Invalid configuration:\n  LLMBATCH_LANES.${i}: ${what}`);
    }
    seen.add(taskQueue);
    return {
      ...(lane.name === undefined ? {} : { name: lane.name }),
      endpoint: lane.endpoint,
      model: lane.model,
      taskQueue,
      limits: { rpm: lane.rpm, tpm: lane.tpm },
    };
  });
}
