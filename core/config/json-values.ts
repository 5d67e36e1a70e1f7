/** Small helpers over parsed YAML/JSON values, shared by the server and pipeline configuration. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON text with every object's keys sorted, so equal values give equal text whatever order their
 * keys came in: for digests (a resource cache's key) and for values shown as text (a task param).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

/**
 * A JSON pointer as path segments: `/jobs/0/plan` → ['jobs', 0, 'plan'], with numbers where the
 * data at that point is a list (a mapping key that looks like a number stays a string).
 */
export function pointerSegments(pointer: string, data: unknown): Array<string | number> {
  const segments: Array<string | number> = [];
  let current: unknown = data;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current) && /^\d+$/.test(part)) {
      segments.push(Number(part));
      current = current[Number(part)];
    } else {
      segments.push(part);
      current = isRecord(current) ? current[part] : undefined;
    }
  }
  return segments;
}
