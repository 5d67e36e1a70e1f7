/** What a redacted secret reads as, as in Concourse. */
const REDACTED = '((redacted))';

/** Shorter lines are not redacted: hiding every `a` or `42` would garble the logs. */
const MIN_SECRET_LENGTH = 3;

/**
 * The secrets the executor learns itself (load_var values without `reveal`), on top of those the
 * credential manager resolved. As in Concourse a secret is redacted line by line, trimmed, and
 * the longest first, so a secret that contains another is hidden whole.
 */
export class SecretSet {
  #lines: string[] = [];

  /** Add every string leaf of a value (numbers and booleans would hide every digit and word). */
  add(value: unknown): void {
    const lines = new Set(this.#lines);
    collectLines(value, lines);
    this.#lines = [...lines].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let result = text;
    for (const line of this.#lines) result = result.split(line).join(REDACTED);
    return result;
  }
}

function collectLines(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    for (const line of value.split('\n')) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_SECRET_LENGTH) into.add(trimmed);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) collectLines(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) collectLines(item, into);
  }
}

/** Apply `redact` to every string of a structured value (a task config, metadata) before it is emitted. */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, redactDeep(item as unknown, redact)]),
    ) as T;
  }
  return value;
}
