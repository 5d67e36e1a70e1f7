import type { Schedule } from './source.js';
import { instantOf, wallClock } from './zone.js';

/** A window of the schedule: versions may come at or after start and before stop. */
export interface Window {
  start: number;
  stop: number;
}

/**
 * The latest daily window that starts at or before `reference`. Without start and stop the
 * window is the whole day from midnight; a stop at or before the start ends on the next day.
 */
export function latestWindow(schedule: Schedule, reference: number): Window {
  const startMinutes = schedule.start ?? 0;
  const stopMinutes = schedule.stop ?? 0;
  const today = wallClock(reference, schedule.zone);
  const at = (wall: { year: number; month: number; day: number }, minutes: number, dayShift = 0) =>
    instantOf(
      {
        year: wall.year,
        month: wall.month,
        day: wall.day + dayShift,
        hour: Math.floor(minutes / 60),
        minute: minutes % 60,
      },
      schedule.zone,
    );

  let start = at(today, startMinutes);
  if (start > reference) start = at(today, startMinutes, -1);
  const startDay = wallClock(start, schedule.zone);
  let stop = at(startDay, stopMinutes);
  if (stop <= start) stop = at(startDay, stopMinutes, 1);
  return { start, stop };
}

/**
 * Whether a check at `now` makes a new version after `previous` (both instants in ms): on an
 * allowed day, after start_after, inside the window, and either the first version, the interval
 * since the previous one passed, or (without an interval) the first version of this window.
 */
export function isDue(schedule: Schedule, now: number, previous: number | undefined): boolean {
  if (schedule.days.size && !schedule.days.has(wallClock(now, schedule.zone).weekday)) return false;
  if (schedule.startAfter && !(instantOf(schedule.startAfter, schedule.zone) < now)) return false;
  const window = latestWindow(schedule, now);
  if (now < window.start || now >= window.stop) return false;
  if (previous === undefined) return true;
  if (schedule.interval !== undefined) return now - previous >= schedule.interval;
  return previous < window.start;
}
