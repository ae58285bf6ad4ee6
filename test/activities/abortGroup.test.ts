import { AbortGroup } from '../../src/activities/abortGroup';

const untilAborted = (signal: AbortSignal) =>
  new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve(String(signal.reason))));

describe('AbortGroup', () => {
  it('aborts every request in flight when the parent is aborted, with the parent’s reason', async () => {
    const parent = new AbortController();
    const group = new AbortGroup(parent.signal);
    const inFlight = [group.run(untilAborted), group.run(untilAborted)];
    parent.abort('activity cancelled');
    expect(await Promise.all(inFlight)).toEqual(['activity cancelled', 'activity cancelled']);
  });

  it('gives a request started after the abort an aborted signal', async () => {
    const parent = new AbortController();
    parent.abort('too late');
    expect(await new AbortGroup(parent.signal).run(async (signal) => signal.aborted)).toBe(true);
  });

  it('leaves the parent with one listener however many requests ran', async () => {
    const parent = new AbortController();
    const added = jest.spyOn(parent.signal, 'addEventListener');
    const group = new AbortGroup(parent.signal);
    for (let i = 0; i < 100; i++) await group.run(async (signal) => signal.aborted);
    expect(added).toHaveBeenCalledTimes(1);
  });
});
