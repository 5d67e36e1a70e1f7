import { ConveyorError } from '../errors/index.js';

/** Milliseconds per unit. Go also knows ns and us; nothing in Conveyor times finer than a millisecond. */
const units: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** One term of a duration: a decimal number (`1`, `1.5`, `.5`, `5.`) and the letters after it. */
const term = /^(\d+(?:\.\d*)?|\.\d+)([^\d.]*)/;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/**
 * Parse a duration the way Concourse (Go's time.ParseDuration) writes them: `500ms`, `90s`, `5m`,
 * `1h30m`, `1.5h`, or a bare `0`. Answers why it is not one instead of throwing, so validators can
 * word the problem themselves.
 */
export function tryParseDuration(text: string): DurationResult {
  if (text === '0') return { ok: true, ms: 0 };
  if (text === '') return { ok: false, reason: 'is empty' };
  // Go accepts a sign; every duration Conveyor takes is a timeout or an interval, never negative.
  if (text.startsWith('-') || text.startsWith('+')) return { ok: false, reason: 'must not have a sign' };
  let rest = text;
  let total = 0;
  while (rest !== '') {
    const match = term.exec(rest);
    if (!match) return { ok: false, reason: `has \`${rest}\` where a number was expected` };
    const [whole, amount = '', unit = ''] = match;
    if (unit === '') return { ok: false, reason: `has no unit after \`${amount}\` (use ms, s, m or h)` };
    const factor = units[unit];
    if (factor === undefined)
      return { ok: false, reason: `has the unknown unit \`${unit}\` (use ms, s, m or h)` };
    total += Number(amount) * factor;
    rest = rest.slice(whole.length);
  }
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) return { ok: false, reason: 'is too large' };
  return { ok: true, ms };
}

/** Parse a Go-style duration into milliseconds; rejects anything else with CC_E_CONFIG_DURATION. */
export function parseDuration(text: string): number {
  const result = tryParseDuration(text);
  if (result.ok) return result.ms;
  throw new ConveyorError(
    'CC_E_CONFIG_DURATION',
    `invalid duration ${JSON.stringify(text)}: it ${result.reason}; write e.g. \`90s\`, \`5m\` or \`1h30m\``,
    { details: { reason: result.reason } },
  );
}
