/** What redacted text shows in place of a secret. */
export const REDACTED = '((redacted))';

/** Lines shorter than this are not redacted: replacing every `a` or `42` would garble logs. */
export const MIN_SECRET_LENGTH = 3;

/**
 * Remembers secret values and blanks them out of text. As in Concourse, a secret is redacted
 * line by line (trimmed), so a multi-line key is caught even when a log re-flows its lines or a
 * JSON encoding breaks them up with `\n`.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  readonly #lines = new Set<string>();
  #pattern: RegExp | undefined;

  /** Remember a value: a string, or every string inside an object or list. */
  add(value: unknown): void {
    if (typeof value === 'string') {
      this.#addString(value);
    } else if (Array.isArray(value)) {
      for (const item of value) this.add(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) this.add(item);
    }
  }

  #addString(secret: string): void {
    if (this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    for (const line of secret.split('\n')) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_SECRET_LENGTH && !this.#lines.has(trimmed)) {
        this.#lines.add(trimmed);
        this.#pattern = undefined;
      }
    }
  }

  redact(text: string): string {
    if (this.#lines.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
    this.#pattern ??= new RegExp(
      // Longest first, so a secret that contains another is replaced whole.
      [...this.#lines]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, REDACTED);
  }

  secrets(): string[] {
    return [...this.#secrets];
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
