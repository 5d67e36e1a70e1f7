/**
 * A variable holding a JSON object resolves to the object, so `((path.field))` can select a field;
 * anything else, including JSON arrays, numbers and malformed JSON, is the string itself.
 */
export function parseValue(raw: string): string | Record<string, unknown> {
  if (!raw.trimStart().startsWith('{')) return raw;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: a secret that happens to start with `{` is still a secret.
  }
  return raw;
}
