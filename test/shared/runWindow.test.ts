/**
 * Run windows (src/shared/runWindow.ts): which window is open at an instant, or which opens next, in a time zone
 * with daylight saving (Europe/Berlin: 2027-03-28 at 02:00 CET the clocks go to 03:00 CEST; 2027-10-31 at 03:00
 * CEST back to 02:00 CET), across midnight, and the option's refusals.
 */
import { BatchOptionsSchema } from '../../src/shared/contracts';
import { runWindowAt, RunWindowSchema, zonedInstant, type RunWindow } from '../../src/shared/runWindow';

const berlin: RunWindow = { start: '01:00', end: '06:00', timezone: 'Europe/Berlin' };
const at = (w: RunWindow, iso: string) => {
  const s = runWindowAt(w, Date.parse(iso));
  return { open: s.open, opensAt: new Date(s.opensAt).toISOString(), closesAt: new Date(s.closesAt).toISOString() };
};

describe('runWindowAt', () => {
  it('before a window: closed, with the next one; 06:00 local on the night of the change is 04:00Z, not 05:00Z', () => {
    expect(at(berlin, '2027-03-27T12:00:00Z')).toEqual({
      open: false,
      opensAt: '2027-03-28T00:00:00.000Z', // 01:00 CET
      closesAt: '2027-03-28T04:00:00.000Z', // 06:00 CEST
    });
  });

  it('inside the window: open until its end; at the end: closed, the next opening at 01:00 CEST (23:00Z)', () => {
    expect(at(berlin, '2027-03-28T03:59:59Z')).toMatchObject({ open: true, closesAt: '2027-03-28T04:00:00.000Z' });
    expect(at(berlin, '2027-03-28T04:00:00Z')).toEqual({
      open: false,
      opensAt: '2027-03-28T23:00:00.000Z',
      closesAt: '2027-03-29T04:00:00.000Z',
    });
    expect(at(berlin, '2027-03-28T00:00:00Z')).toMatchObject({ open: true, opensAt: '2027-03-28T00:00:00.000Z' });
  });

  it('in autumn the window moves back an hour in UTC', () => {
    expect(at(berlin, '2027-10-30T12:00:00Z')).toEqual({
      open: false,
      opensAt: '2027-10-30T23:00:00.000Z', // 01:00 CEST
      closesAt: '2027-10-31T05:00:00.000Z', // 06:00 CET
    });
  });

  it('a window across midnight is open late at night and early in the morning, closed by day', () => {
    const night: RunWindow = { start: '22:00', end: '06:00', timezone: 'UTC' };
    expect(at(night, '2027-01-05T23:00:00Z')).toEqual({
      open: true,
      opensAt: '2027-01-05T22:00:00.000Z',
      closesAt: '2027-01-06T06:00:00.000Z',
    });
    expect(at(night, '2027-01-06T05:59:00Z')).toMatchObject({ open: true, opensAt: '2027-01-05T22:00:00.000Z' });
    expect(at(night, '2027-01-06T12:00:00Z')).toMatchObject({ open: false, opensAt: '2027-01-06T22:00:00.000Z' });
  });

  it('a time the spring-forward skips is the moment after the gap; a time the fall-back repeats, the first', () => {
    const local = (month: number, day: number) => ({ year: 2027, month, day, hour: 2, minute: 30 });
    expect(new Date(zonedInstant(local(3, 28), 'Europe/Berlin')).toISOString()).toBe('2027-03-28T01:30:00.000Z');
    expect(new Date(zonedInstant(local(10, 31), 'Europe/Berlin')).toISOString()).toBe('2027-10-31T00:30:00.000Z');
  });

  it('the option is refused naming the field: a bad time, an unknown zone, an empty window', () => {
    const issues = (window: unknown) =>
      BatchOptionsSchema.safeParse({ window }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ ...berlin, start: '1:00' })).toEqual([
      'window.start: expected a 24-hour time as HH:MM, such as 01:00',
    ]);
    expect(issues({ ...berlin, end: '24:00' })?.[0]).toMatch(/^window\.end: expected a 24-hour time/);
    expect(issues({ ...berlin, timezone: 'Mars/Olympus' })?.[0]).toMatch(/^window\.timezone: not a time zone/);
    expect(issues({ ...berlin, end: '01:00' })).toEqual(['window.end: the window is empty: end is the same as start']);
    expect(RunWindowSchema.safeParse(berlin).success).toBe(true);
  });
});
