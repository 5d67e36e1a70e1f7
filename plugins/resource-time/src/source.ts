import { PluginError } from '@conveyor/plugin-api';
import { parseGoDuration } from './go-duration.js';
import { parseTimeOfDay, TIME_OF_DAY_FORMATS } from './time-of-day.js';
import type { TimeSource } from './types.js';
import { resolveZone, type WallTime } from './zone.js';

/** A source, checked and parsed: what the schedule needs to decide. */
export interface Schedule {
  /** The IANA zone start, stop, days and start_after are read in. */
  zone: string;
  /** Milliseconds between versions. */
  interval?: number | undefined;
  /** Minutes after midnight; both set or neither. */
  start?: number | undefined;
  stop?: number | undefined;
  /** Allowed weekdays, 0 (Sunday) – 6 (Saturday); empty means every day. */
  days: ReadonlySet<number>;
  startAfter?: WallTime | undefined;
  initialVersion: boolean;
}

const WEEKDAYS: Readonly<Record<string, number>> = {
  sun: 0,
  sunday: 0,
  mon: 1,
  monday: 1,
  tue: 2,
  tuesday: 2,
  wed: 3,
  wednesday: 3,
  thu: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
};

const START_AFTER = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2}))?)?)?$/;

/** Check a source as the Go resource does, with a message that says which key is wrong and how. */
export function parseSource(source: TimeSource): Schedule {
  const zone = resolveZone(source.location);
  if (!zone) {
    throw bad(
      `location ${JSON.stringify(source.location)} is not a time zone: use an IANA name such as UTC, Europe/Paris or America/New_York`,
    );
  }

  let interval: number | undefined;
  if (source.interval !== undefined) {
    interval = parseGoDuration(source.interval);
    if (interval === undefined) {
      throw bad(
        `interval ${JSON.stringify(source.interval)} is not a duration: use a Go duration such as 60s, 90m or 1h30m`,
      );
    }
  }

  if ((source.start === undefined) !== (source.stop === undefined)) {
    throw bad(
      source.start === undefined
        ? "must configure 'start' if 'stop' is set"
        : "must configure 'stop' if 'start' is set",
    );
  }
  const start = source.start === undefined ? undefined : timeOfDay('start', source.start);
  const stop = source.stop === undefined ? undefined : timeOfDay('stop', source.stop);

  const days = new Set<number>();
  for (const name of source.days ?? []) {
    const day = WEEKDAYS[name.toLowerCase()];
    if (day === undefined)
      throw bad(`unknown weekday ${JSON.stringify(name)} in days: use Sunday … Saturday`);
    days.add(day);
  }

  let startAfter: WallTime | undefined;
  if (source.start_after !== undefined) {
    const match = START_AFTER.exec(source.start_after);
    if (!match) {
      throw bad(
        `start_after ${JSON.stringify(source.start_after)} is not a date: use 2006-01-02, 2006-01-02T15:04:05, 2006-01-02 15:04:05, 2006-01-02T15:04 or 2006-01-02T15`,
      );
    }
    const [, year, month, day, hour, minute, second] = match.map((part) => Number(part ?? 0));
    startAfter = { year: year ?? 0, month: month ?? 1, day: day ?? 1, hour, minute, second };
  }

  return { zone, interval, start, stop, days, startAfter, initialVersion: source.initial_version === true };
}

function timeOfDay(key: 'start' | 'stop', text: string): number {
  const minutes = parseTimeOfDay(text);
  if (minutes === undefined) {
    throw bad(`${key} ${JSON.stringify(text)} is not a time of day: use one of ${TIME_OF_DAY_FORMATS}`);
  }
  return minutes;
}

function bad(message: string): PluginError {
  return new PluginError('TIME_BAD_SOURCE', `invalid source: ${message}`);
}
