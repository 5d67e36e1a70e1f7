/**
 * Calendar arithmetic in an IANA time zone, with nothing but Intl: what a wall clock in the zone
 * shows at an instant, and which instant a wall-clock time in the zone is. Instants are
 * milliseconds since the epoch, as Date.now() returns them.
 */

/** A wall-clock reading; month is 1–12 and weekday 0 (Sunday) – 6 (Saturday). */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

/** A wall-clock time to turn into an instant; a day or hour out of range rolls over as in Go. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/**
 * The canonical name of a zone Intl knows, or undefined. Go's `Local` is the host's own zone;
 * an empty name is UTC, as with Go's time.LoadLocation.
 */
export function resolveZone(name: string | undefined): string | undefined {
  if (name === undefined || name === '' || name === 'UTC') return 'UTC';
  try {
    const options = name === 'Local' ? {} : { timeZone: name };
    return new Intl.DateTimeFormat('en-US', options).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export function wallClock(instant: number, zone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const year = parts.year ?? 0;
  const month = parts.month ?? 1;
  const day = parts.day ?? 1;
  return {
    year,
    month,
    day,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
  };
}

/** Minutes the zone is ahead of UTC at an instant (e.g. 120 for +02:00). */
export function offsetMinutes(instant: number, zone: string): number {
  const wall = wallClock(instant, zone);
  const wallAsUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return Math.round((wallAsUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

/**
 * The instant a wall clock in the zone shows the given time. A time that occurs twice (clocks
 * set back) is its first occurrence; a time that never occurs (clocks set forward) is read with
 * the offset from before the jump, so 02:30 in a 02:00→03:00 gap is 03:30.
 */
export function instantOf(time: WallTime, zone: string): number {
  const asUtc = Date.UTC(
    time.year,
    time.month - 1,
    time.day,
    time.hour ?? 0,
    time.minute ?? 0,
    time.second ?? 0,
  );
  // Zones change offset at most once within a day: the offsets half a day either side are the
  // only candidates.
  const before = asUtc - offsetMinutes(asUtc - HALF_DAY, zone) * 60_000;
  const after = asUtc - offsetMinutes(asUtc + HALF_DAY, zone) * 60_000;
  const valid = [before, after].filter(
    (instant) => offsetMinutes(instant, zone) * 60_000 === asUtc - instant,
  );
  return valid.length ? Math.min(...valid) : before;
}

const HALF_DAY = 12 * 3_600_000;

/**
 * An instant as RFC 3339 in the zone, as Go's time.Time marshals to JSON: the zone's offset (Z
 * when it is zero) and fractional seconds only when there are some.
 */
export function formatRfc3339(instant: number, zone: string): string {
  const wall = wallClock(instant, zone);
  const offset = offsetMinutes(instant, zone);
  const millis = ((instant % 1000) + 1000) % 1000;
  const fraction = millis ? `.${String(millis).padStart(3, '0').replace(/0+$/, '')}` : '';
  const sign = offset < 0 ? '-' : '+';
  const zoneText =
    offset === 0 ? 'Z' : `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${String(wall.year).padStart(4, '0')}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}${fraction}${zoneText}`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The instant an RFC 3339 timestamp names (to the millisecond), or undefined when it is not one. */
export function parseRfc3339(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  const instant = Date.parse(text.toUpperCase());
  return Number.isNaN(instant) ? undefined : instant;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
