/**
 * `((vars))` as Concourse writes them: `((name))`, `((name.field))`, `((source:name))`,
 * `((.:local))`, with `"quoted"` segments for names holding dots or colons. Anything else between
 * double parentheses (spaces, say) is not a var and stays text, as in Concourse.
 */
const varPattern = /\(\(((?:[-/.\w\p{L}]+:)?[-/.:@"\w\p{L}]+)\)\)/gu;

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
  for (const match of text.matchAll(varPattern)) {
    const inner = match[1] ?? '';
    const reference = parseReference(inner);
    if (reference) found.push(reference);
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
  return text.replace(varPattern, '');
}

function parseReference(text: string): VarReference | undefined {
  if ((text.match(/"/g)?.length ?? 0) % 2 !== 0) return undefined;
  let rest = text;
  let source: string | undefined;
  const colon = unquotedIndex(rest, ':');
  if (colon >= 0) {
    source = rest.slice(0, colon).replaceAll('"', '').trim();
    rest = rest.slice(colon + 1);
  }
  const path: string[] = [];
  for (;;) {
    const dot = unquotedIndex(rest, '.');
    const segment = (dot >= 0 ? rest.slice(0, dot) : rest).replaceAll('"', '').trim();
    if (segment === '') return undefined;
    path.push(segment);
    if (dot < 0) break;
    rest = rest.slice(dot + 1);
  }
  return { text, path, ...(source === undefined ? {} : { source }) };
}

function unquotedIndex(text: string, wanted: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === wanted && !quoted) return i;
  }
  return -1;
}
