import { laneFor } from '../../src/api/plan';
import { loadConfig } from '../../src/config';
import { chatLines } from '../helpers/fakes';

const { lanes } = loadConfig({
  TEMPORAL_TASK_QUEUE: 'q',
  LLMBATCH_LANES: '[{"model":"gpt-4o-mini","rpm":600},{"name":"bulk","model":"gpt-4o-mini","rpm":60}]',
});

describe('laneFor', () => {
  it('puts a batch whose lines all match a configured lane on that lane’s queue', () => {
    expect(laneFor(chatLines(3), lanes)).toEqual({
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      taskQueue: 'q@/v1/chat/completions@gpt-4o-mini',
    });
  });

  it('puts a batch that names a lane on it, and refuses a name no lane has', () => {
    expect(laneFor(chatLines(3), lanes, 'bulk')).toEqual({
      name: 'bulk',
      endpoint: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      taskQueue: 'q@lane@bulk',
    });
    expect(() => laneFor(chatLines(3), lanes, 'nope')).toThrow('options.lane: no lane named nope');
  });

  it('leaves mixed or unconfigured batches on the default queue', () => {
    const other = chatLines(1).map((l) => ({ ...l, custom_id: 'x', body: { ...l.body, model: 'gpt-4o' } }));
    expect(laneFor([...chatLines(2), ...other], lanes)).toBeUndefined();
    expect(laneFor(other, lanes)).toBeUndefined();
    expect(
      laneFor(
        chatLines(2).map((l) => ({ ...l, url: '/v1/responses' as const })),
        lanes,
      ),
    ).toBeUndefined();
  });
});
