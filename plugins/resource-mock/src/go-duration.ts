/** Milliseconds per unit of Go's time.ParseDuration. */
const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /^(\d+\.?\d*|\.\d+)([^\d.]+)/;

/**
 * Parse a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`) into milliseconds, as mock's check_delay
 * takes it. Undefined when the text is not one.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest) {
    const match = TERM.exec(rest);
    const unit = match?.[2] === undefined ? undefined : UNITS[match[2]];
    if (!match?.[1] || unit === undefined) return undefined;
    total += Number(match[1]) * unit;
    rest = rest.slice(match[0].length);
  }
  return sign * total;
}
