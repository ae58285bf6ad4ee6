/**
 * Run windows (options.window): the hours of the day, in a time zone, when a batch's chunks may run, such as
 * 01:00–06:00 Europe/Berlin off-peak. Outside them the batch is paused (reason `window`). Called a run window,
 * not a window, because "window" already names the sliding window of chunks in flight.
 *
 * Pure and deterministic: workflow code computes each open and close from workflow time. The zone's rules come
 * from the runtime's ICU data (Intl), so a daylight-saving change moves the window with the wall clock: 06:00
 * is 06:00 local on both sides of it. A local time a spring-forward skips (02:30 on that day) is taken as the
 * moment after the gap; a time a fall-back repeats is taken at its first occurrence.
 */
import { z } from 'zod';

const HOUR_MINUTE = /^([01]\d|2[0-3]):[0-5]\d$/;
const hourMinute = z.string().regex(HOUR_MINUTE, 'expected a 24-hour time as HH:MM, such as 01:00');

const formats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone; throws a RangeError for a zone the runtime does not know. */
function formatIn(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formats.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatIn(timeZone);
    return true;
  } catch {
    return false;
  }
}

export const RunWindowSchema = z
  .strictObject({
    /** When the window opens, local time (HH:MM). */
    start: hourMinute,
    /** When it closes; earlier than start for a window across midnight (22:00–06:00). */
    end: hourMinute,
    /** An IANA time zone, such as Europe/Berlin or UTC. */
    timezone: z.string().refine(isTimeZone, 'not a time zone this server knows (an IANA name, such as Europe/Berlin)'),
  })
  .refine((w) => w.start !== w.end, { message: 'the window is empty: end is the same as start', path: ['end'] });
export type RunWindow = z.infer<typeof RunWindowSchema>;

/** A run window as progress shows it: the option, whether it is open, and that window's or the next one's times. */
export interface RunWindowView extends RunWindow {
  open: boolean;
  opensAt: string;
  closesAt: string;
}

/** Where a batch stands against its run window: the window open now, or the next one. */
export interface RunWindowState {
  open: boolean;
  /** Epoch ms: when the current window opened (open), or when the next one opens. */
  opensAt: number;
  /** Epoch ms: when that window closes. */
  closesAt: number;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function localTimeAt(ms: number, timeZone: string): LocalTime {
  const parts = Object.fromEntries(
    formatIn(timeZone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const n = (k: string) => Number(parts[k]);
  return { year: n('year'), month: n('month'), day: n('day'), hour: n('hour'), minute: n('minute') };
}

const wallMs = (t: LocalTime): number => Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);

/** How far the zone's wall clock is ahead of UTC at this instant. */
function offsetAt(ms: number, timeZone: string): number {
  const minute = Math.floor(ms / 60_000) * 60_000;
  return wallMs(localTimeAt(minute, timeZone)) - minute;
}

/** The instant a local time names in the zone (see the module comment for the gaps and repeats of DST). */
export function zonedInstant(t: LocalTime, timeZone: string): number {
  const wall = wallMs(t);
  // Offsets either side of the instant: they differ only near a daylight-saving change.
  const candidates = [...new Set([3, 0, -3].map((h) => wall - offsetAt(wall - h * 3_600_000, timeZone)))];
  const exact = candidates.filter((ms) => wallMs(localTimeAt(ms, timeZone)) === wall);
  return exact.length > 0 ? Math.min(...exact) : Math.max(...candidates);
}

const minutesOf = (hhmm: string): [number, number] => [Number(hhmm.slice(0, 2)), Number(hhmm.slice(3, 5))];

/** The window that opens on the local day `dayOffset` days after `day`. */
function windowOn(w: RunWindow, day: LocalTime, dayOffset: number): { opensAt: number; closesAt: number } {
  const date = new Date(Date.UTC(day.year, day.month - 1, day.day + dayOffset));
  const on = (hhmm: string, extraDays: number): number => {
    const d = new Date(date.getTime() + extraDays * 86_400_000);
    const [hour, minute] = minutesOf(hhmm);
    const local = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour, minute };
    return zonedInstant(local, w.timezone);
  };
  return { opensAt: on(w.start, 0), closesAt: on(w.end, w.end < w.start ? 1 : 0) };
}

/** The window open at `nowMs`, or else the next one to open. */
export function runWindowAt(w: RunWindow, nowMs: number): RunWindowState {
  const today = localTimeAt(nowMs, w.timezone);
  // Yesterday's window may still be open (one across midnight); one of the next two days holds the next.
  for (const dayOffset of [-1, 0, 1, 2]) {
    const { opensAt, closesAt } = windowOn(w, today, dayOffset);
    if (nowMs < closesAt) return { open: nowMs >= opensAt, opensAt, closesAt };
  }
  throw new Error(`no run window found after ${new Date(nowMs).toISOString()}`); // unreachable: windows are daily
}
