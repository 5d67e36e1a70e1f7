// The decision code is pure (it takes `now`), so these tests pin the clock by passing instants;
// the plugin's own tests (time-resource.test.ts) call it through the testing kit.
import { describe, expect, it } from 'vitest';
import { checkAt } from '../src/check.js';
import { parseGoDuration } from '../src/go-duration.js';
import { isDue, latestWindow } from '../src/schedule.js';
import { parseSource } from '../src/source.js';
import { parseTimeOfDay } from '../src/time-of-day.js';
import type { TimeSource } from '../src/types.js';
import { formatRfc3339, instantOf, parseRfc3339 } from '../src/zone.js';

const at = (iso: string): number => {
  const instant = Date.parse(iso);
  if (Number.isNaN(instant)) throw new Error(`bad test time ${iso}`);
  return instant;
};

// 2024-01-03 is a Wednesday; Indianapolis is on EST (-05:00) in January.
const due = (source: TimeSource, now: string, previous?: string) =>
  isDue(parseSource(source), at(now), previous === undefined ? undefined : at(previous));

describe('time of day', () => {
  it('reads the Go resource formats, with a deprecated offset moving the time to UTC', () => {
    expect(parseTimeOfDay('3:04 PM')).toBe(15 * 60 + 4);
    expect(parseTimeOfDay('3PM')).toBe(15 * 60);
    expect(parseTimeOfDay('3 PM')).toBe(15 * 60);
    expect(parseTimeOfDay('15:04')).toBe(15 * 60 + 4);
    expect(parseTimeOfDay('1504')).toBe(15 * 60 + 4);
    expect(parseTimeOfDay('8:00')).toBe(8 * 60);
    expect(parseTimeOfDay('12:00 AM')).toBe(0);
    expect(parseTimeOfDay('12 PM')).toBe(12 * 60);
    expect(parseTimeOfDay('8:00 +0100')).toBe(7 * 60);
    expect(parseTimeOfDay('11:30 PM -0130')).toBe(60);
  });

  it('refuses anything else', () => {
    for (const text of ['25:00', '3:4 PM', 'noon', '13PM', '15:60', '904', '', '8:00 +01']) {
      expect(parseTimeOfDay(text)).toBeUndefined();
    }
  });
});

describe('Go durations', () => {
  it('reads intervals as Go does', () => {
    expect(parseGoDuration('60s')).toBe(60_000);
    expect(parseGoDuration('90m')).toBe(90 * 60_000);
    expect(parseGoDuration('1h30m')).toBe(90 * 60_000);
    expect(parseGoDuration('1.5h')).toBe(90 * 60_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(parseGoDuration('0')).toBe(0);
    for (const text of ['60', '1d', 'h', '1h 30m', '']) expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('zones', () => {
  it('formats RFC 3339 with the zone offset, Z for zero, and fractions only when there are some', () => {
    expect(formatRfc3339(at('2024-01-03T18:00:00Z'), 'America/Indiana/Indianapolis')).toBe(
      '2024-01-03T13:00:00-05:00',
    );
    expect(formatRfc3339(at('2024-07-03T18:00:00Z'), 'America/Indiana/Indianapolis')).toBe(
      '2024-07-03T14:00:00-04:00',
    );
    expect(formatRfc3339(at('2024-01-03T18:00:00.500Z'), 'UTC')).toBe('2024-01-03T18:00:00.5Z');
    expect(formatRfc3339(at('2024-01-03T18:00:00Z'), 'Asia/Kolkata')).toBe('2024-01-03T23:30:00+05:30');
    expect(formatRfc3339(at('2024-01-03T18:00:00Z'), 'Africa/Abidjan')).toBe('2024-01-03T18:00:00Z');
  });

  it('parses RFC 3339, nanoseconds included, and nothing looser', () => {
    expect(parseRfc3339('2024-01-03T13:00:00.123456789-05:00')).toBe(at('2024-01-03T18:00:00.123Z'));
    expect(parseRfc3339('March 7, 2024')).toBeUndefined();
    expect(parseRfc3339('2024-01-03')).toBeUndefined();
  });

  it('maps wall-clock times across daylight-saving jumps', () => {
    // Paris sets clocks forward 02:00 → 03:00 on 2024-03-31 and back 03:00 → 02:00 on 2024-10-27.
    expect(instantOf({ year: 2024, month: 3, day: 31, hour: 2, minute: 30 }, 'Europe/Paris')).toBe(
      at('2024-03-31T01:30:00Z'),
    );
    expect(instantOf({ year: 2024, month: 10, day: 27, hour: 2, minute: 30 }, 'Europe/Paris')).toBe(
      at('2024-10-27T00:30:00Z'),
    );
    expect(instantOf({ year: 2024, month: 10, day: 27, hour: 12 }, 'Europe/Paris')).toBe(
      at('2024-10-27T11:00:00Z'),
    );
    // A day past the end of the month rolls over, as Go's time.Date does.
    expect(instantOf({ year: 2024, month: 1, day: 32 }, 'UTC')).toBe(at('2024-02-01T00:00:00Z'));
  });
});

describe('source', () => {
  const problem = (source: TimeSource) => {
    try {
      parseSource(source);
    } catch (error) {
      return error as { code: string; message: string };
    }
    return undefined;
  };

  it('needs start and stop together', () => {
    expect(problem({ start: '8:00 AM' })).toMatchObject({
      code: 'TIME_BAD_SOURCE',
      message: "invalid source: must configure 'stop' if 'start' is set",
    });
    expect(problem({ stop: '8:00 AM' })?.message).toContain("must configure 'start' if 'stop' is set");
  });

  it('names the key at fault and the formats it takes', () => {
    expect(problem({ location: 'Mars/Olympus_Mons' })?.message).toContain('location "Mars/Olympus_Mons"');
    expect(problem({ interval: '5 minutes' })?.message).toContain('interval "5 minutes" is not a duration');
    expect(problem({ start: '8 o clock', stop: '9:00' })?.message).toContain(
      '3:04 PM, 3PM, 3 PM, 15:04 or 1504',
    );
    expect(problem({ days: ['Monday', 'Caturday'] })?.message).toContain('unknown weekday "Caturday"');
    expect(problem({ start_after: 'tomorrow' })?.message).toContain('start_after "tomorrow"');
  });

  it('takes weekdays in any case, long or short', () => {
    expect([...parseSource({ days: ['monday', 'WED', 'Sunday'] }).days].sort()).toEqual([0, 1, 3]);
  });
});

describe('the window', () => {
  it('is the whole day from midnight without start and stop', () => {
    const window = latestWindow(parseSource({}), at('2024-01-03T13:00:00Z'));
    expect(window).toEqual({ start: at('2024-01-03T00:00:00Z'), stop: at('2024-01-04T00:00:00Z') });
  });

  it('is the whole day from start when stop equals start', () => {
    const window = latestWindow(
      parseSource({ start: '6:00 AM', stop: '6:00 AM' }),
      at('2024-01-03T05:00:00Z'),
    );
    expect(window).toEqual({ start: at('2024-01-02T06:00:00Z'), stop: at('2024-01-03T06:00:00Z') });
  });

  it('runs past midnight when stop is before start', () => {
    const window = latestWindow(
      parseSource({ start: '8:00 PM', stop: '8:00 AM' }),
      at('2024-01-03T01:00:00Z'),
    );
    expect(window).toEqual({ start: at('2024-01-02T20:00:00Z'), stop: at('2024-01-03T08:00:00Z') });
  });

  it('is read in the location', () => {
    const source = { start: '1:00 PM', stop: '3:00 PM', location: 'America/Indiana/Indianapolis' };
    const window = latestWindow(parseSource(source), at('2024-01-03T19:00:00Z'));
    expect(window).toEqual({ start: at('2024-01-03T18:00:00Z'), stop: at('2024-01-03T20:00:00Z') });
  });
});

describe('when a version is due', () => {
  it('without a previous version: inside the window', () => {
    const range = { start: '2:00 AM', stop: '4:00 AM' };
    expect(due(range, '2024-01-03T03:00:00Z')).toBe(true);
    expect(due(range, '2024-01-03T05:00:00Z')).toBe(false);
    expect(due({ start: '2:01 AM', stop: '2:03 AM' }, '2024-01-03T02:02:00Z')).toBe(true);
    expect(due({ start: '11:07 AM', stop: '11:10 AM' }, '2024-01-03T11:05:00Z')).toBe(false);
  });

  it('counts the start in and the stop out, to the millisecond', () => {
    const range = { start: '3:04 AM', stop: '3:07 AM' };
    expect(due(range, '2024-01-03T03:03:59.999Z')).toBe(false);
    expect(due(range, '2024-01-03T03:04:00Z')).toBe(true);
    expect(due(range, '2024-01-03T03:06:59.999Z')).toBe(true);
    expect(due(range, '2024-01-03T03:07:00Z')).toBe(false);
  });

  it('handles windows across midnight', () => {
    expect(due({ start: '5:00 AM', stop: '1:00 AM' }, '2024-01-03T06:00:00Z')).toBe(true);
    expect(due({ start: '8:00 PM', stop: '8:00 AM' }, '2024-01-03T01:00:00Z')).toBe(true);
    expect(due({ start: '8:00 PM', stop: '8:00 AM' }, '2024-01-03T12:00:00Z')).toBe(false);
  });

  it('compares deprecated offsets with the current time in UTC', () => {
    expect(due({ start: '2:00 AM -0600', stop: '6:00 AM -0600' }, '2024-01-03T08:00:00Z')).toBe(true);
    expect(due({ start: '2:00 AM -0600', stop: '6:00 AM -0600' }, '2024-01-03T07:59:00Z')).toBe(false);
    expect(due({ start: '12:01 AM -0700', stop: '11:59 PM -0700' }, '2024-01-03T01:10:00Z')).toBe(true);
  });

  it('reads the window and the days in the location', () => {
    const source = { location: 'America/Indiana/Indianapolis', start: '1:00 PM', stop: '3:00 PM' };
    expect(due(source, '2024-01-03T18:00:00Z')).toBe(true);
    expect(due(source, '2024-01-03T20:00:00Z')).toBe(false);
    expect(due({ ...source, days: ['Wednesday'] }, '2024-01-03T18:00:00Z')).toBe(true);
    expect(due({ ...source, days: ['Thursday'] }, '2024-01-03T18:00:00Z')).toBe(false);
    // 02:00 UTC on Thursday is still Wednesday evening in Indianapolis.
    const evening = { location: 'America/Indiana/Indianapolis', start: '9:00 PM', stop: '10:00 PM' };
    expect(due({ ...evening, days: ['Wednesday'] }, '2024-01-04T02:00:00Z')).toBe(true);
    expect(due({ ...evening, days: ['Thursday'] }, '2024-01-04T02:00:00Z')).toBe(false);
  });

  it('without an interval: once per window', () => {
    const source = { location: 'America/Indiana/Indianapolis', start: '1:00 PM', stop: '3:00 PM' };
    expect(due(source, '2024-01-04T18:00:00Z', '2024-01-03T18:00:00Z')).toBe(true);
    expect(due(source, '2024-01-03T18:01:00Z', '2024-01-03T18:00:00Z')).toBe(false);
    // No window at all: once per calendar day.
    expect(due({}, '2024-01-04T00:00:00Z', '2024-01-03T23:59:00Z')).toBe(true);
    expect(due({}, '2024-01-03T23:59:00Z', '2024-01-03T00:01:00Z')).toBe(false);
  });

  it('with an interval: once it has passed since the previous version', () => {
    expect(due({ interval: '2m' }, '2024-01-03T12:00:00Z')).toBe(true);
    expect(due({ interval: '2m' }, '2024-01-03T12:01:00Z', '2024-01-03T12:00:00Z')).toBe(false);
    expect(due({ interval: '2m' }, '2024-01-03T12:02:00Z', '2024-01-03T12:00:00Z')).toBe(true);
  });

  it('with an interval inside a window', () => {
    const source = { interval: '2m', start: '1:00 PM', stop: '3:00 PM' };
    expect(due(source, '2024-01-04T13:00:00Z', '2024-01-03T14:58:00Z')).toBe(true);
    expect(due(source, '2024-01-03T13:04:00Z', '2024-01-03T13:02:00Z')).toBe(true);
    expect(due(source, '2024-01-03T13:03:00Z', '2024-01-03T13:02:00Z')).toBe(false);
    expect(due(source, '2024-01-03T15:02:00Z', '2024-01-03T14:58:00Z')).toBe(false);
  });

  it('never before start_after, read in the location', () => {
    const source = { interval: '1m', start_after: '2024-01-03T12:00', location: 'Europe/Paris' };
    expect(due(source, '2024-01-03T10:59:00Z')).toBe(false);
    expect(due(source, '2024-01-03T11:00:00Z')).toBe(false);
    expect(due(source, '2024-01-03T11:00:01Z')).toBe(true);
  });
});

describe('check', () => {
  const now = at('2024-01-03T12:00:00Z');

  it('emits the current time on the first check when due, nothing when not', () => {
    expect(checkAt({ source: { interval: '1h' } }, now)).toEqual({
      versions: [{ time: '2024-01-03T12:00:00Z' }],
    });
    expect(checkAt({ source: { start: '1:00 PM', stop: '2:00 PM' } }, now)).toEqual({ versions: [] });
  });

  it('emits the current time at once with initial_version, whatever the window', () => {
    const source = { start: '1:00 PM', stop: '2:00 PM', initial_version: true, location: 'Asia/Tokyo' };
    expect(checkAt({ source }, now)).toEqual({ versions: [{ time: '2024-01-03T21:00:00+09:00' }] });
  });

  it('returns the given version first, unchanged, then the current time when due', () => {
    const given = { time: '2024-01-03T10:59:59.123456789Z' };
    expect(checkAt({ source: { interval: '1h' }, version: given }, now)).toEqual({
      versions: [given, { time: '2024-01-03T12:00:00Z' }],
    });
    expect(checkAt({ source: { interval: '2h' }, version: given }, now)).toEqual({ versions: [given] });
  });

  it('refuses a version that is not a timestamp', () => {
    expect(() => checkAt({ source: {}, version: { time: 'yesterday' } }, now)).toThrow(
      expect.objectContaining({ code: 'TIME_BAD_VERSION' }),
    );
  });
});
