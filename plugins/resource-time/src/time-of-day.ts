/**
 * The formats the Go time resource reads `start` and `stop` in, each optionally followed by a
 * numeric offset (deprecated in favour of `location`): `3:04 PM`, `3PM`, `3 PM`, `15:04`, `1504`.
 */
const TWELVE_HOUR = /^(\d{1,2})(?::(\d{2}))? ?([AaPp][Mm])$/;
const TWENTY_FOUR_HOUR = /^(\d{1,2}):(\d{2})$|^(\d{2})(\d{2})$/;
const WITH_OFFSET = /^(.*\S) ([+-])(\d{2})(\d{2})$/;

export const TIME_OF_DAY_FORMATS = '3:04 PM, 3PM, 3 PM, 15:04 or 1504';

/**
 * Minutes after midnight, or undefined when the text is in none of the formats. With an offset,
 * the time is moved to UTC first, as the Go resource does (`8:00 +0100` is 07:00).
 */
export function parseTimeOfDay(text: string): number | undefined {
  const offsetMatch = WITH_OFFSET.exec(text);
  let offset = 0;
  let clock = text;
  if (offsetMatch) {
    const [, rest = '', sign, hours = '0', minutes = '0'] = offsetMatch;
    offset = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
    clock = rest;
  }
  const minutes = parseClock(clock);
  if (minutes === undefined) return undefined;
  return (((minutes - offset) % 1440) + 1440) % 1440;
}

function parseClock(text: string): number | undefined {
  const twelve = TWELVE_HOUR.exec(text);
  if (twelve) {
    const hour = Number(twelve[1]);
    const minute = Number(twelve[2] ?? 0);
    if (hour > 12 || minute > 59) return undefined;
    const pm = twelve[3]?.toUpperCase() === 'PM';
    return ((hour % 12) + (pm ? 12 : 0)) * 60 + minute;
  }
  const twentyFour = TWENTY_FOUR_HOUR.exec(text);
  if (twentyFour) {
    const hour = Number(twentyFour[1] ?? twentyFour[3]);
    const minute = Number(twentyFour[2] ?? twentyFour[4]);
    if (hour > 23 || minute > 59) return undefined;
    return hour * 60 + minute;
  }
  return undefined;
}
