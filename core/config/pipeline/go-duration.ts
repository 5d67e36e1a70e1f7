/** Milliseconds per unit, with every unit Go's time.ParseDuration knows (µ in both spellings). */
const units: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** One term: a decimal number (`1`, `1.5`, `.5`, `5.`) and the unit letters after it. */
const term = /^(\d+(?:\.\d*)?|\.\d+)([^\d.]*)/;

export type GoDuration = { ok: true; ms: number } | { ok: false; reason: string };

/**
 * Parse a duration as Go's time.ParseDuration does, which is what Concourse runs on `timeout:`,
 * `check_every:` and `check_timeout:`. Concourse would take a sign too; a negative interval or
 * timeout means nothing useful, so it is refused here with a reason the validator can quote.
 */
export function parseGoDuration(text: string): GoDuration {
  if (text === '0') return { ok: true, ms: 0 };
  if (text === '') return { ok: false, reason: 'is empty' };
  if (text.startsWith('-')) return { ok: false, reason: 'is negative' };
  let rest = text.startsWith('+') ? text.slice(1) : text;
  if (rest === '') return { ok: false, reason: 'has no number' };
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
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER)
    return { ok: false, reason: 'is too large' };
  return { ok: true, ms: total };
}

/** Whole milliseconds of a duration the schema has already accepted. */
export function durationMs(text: string): number {
  const parsed = parseGoDuration(text);
  if (!parsed.ok) throw new Error(`durationMs: ${JSON.stringify(text)} ${parsed.reason}`);
  return Math.round(parsed.ms);
}
