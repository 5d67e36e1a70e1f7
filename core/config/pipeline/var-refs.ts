import { findReferences, parseReference } from '../../creds/index.js';

/**
 * `((vars))` as the pipeline validator sees them, in core/creds' grammar (the one the builds
 * resolve them with): `((name))`, `((name.field))`, `((source:name))`, `((.:local))`, with
 * `"quoted"` segments for names holding dots or colons. Text between double parentheses that is
 * not a var in that grammar (spaces, shell arithmetic) stays text, as in Concourse.
 */
export interface VarReference {
  /** The text between the parentheses. */
  text: string;
  /** The var source (`vault` in `((vault:x))`, `.` for local vars); undefined for a plain var. */
  source?: string;
  /** The var's name, then the fields into its value. */
  path: string[];
}

/** Every var reference in a string, in order. */
export function varReferences(text: string): VarReference[] {
  const found: VarReference[] = [];
  for (const { inner } of findReferences(text)) {
    let parsed: ReturnType<typeof parseReference>;
    try {
      parsed = parseReference(inner);
    } catch {
      // Malformed (`((a..b))`): the build would refuse it; here it is not a var to look into.
      continue;
    }
    found.push({
      text: inner,
      path: [parsed.path, ...parsed.fields],
      ...(parsed.source === undefined ? {} : { source: parsed.source }),
    });
  }
  return found;
}

/** The reference when the whole string is one var, so its value replaces the node with its type. */
export function wholeVar(text: string): VarReference | undefined {
  const [only] = varReferences(text);
  return only && `((${only.text}))` === text ? only : undefined;
}

/** Whether a value holds a var anywhere: in a string, a key, or nested. */
export function containsVar(value: unknown): boolean {
  if (typeof value === 'string') return varReferences(value).length > 0;
  if (Array.isArray(value)) return value.some(containsVar);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).some(([key, item]) => containsVar(key) || containsVar(item));
  return false;
}

/** Remove every var from a string (to check what is left of a name like `deploy-((env))`). */
export function withoutVars(text: string): string {
  let rest = text;
  for (const reference of varReferences(text)) rest = rest.replaceAll(`((${reference.text}))`, '');
  return rest;
}
