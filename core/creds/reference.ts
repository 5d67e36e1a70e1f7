import { ConveyorError } from '../errors/index.js';

/**
 * A `((var))` reference, as Concourse has them: `((path))`, `((path.field.sub))`,
 * `((source:path.field))` for a named var source, `((.:name))` for a build's local var (set by
 * load_var or across), and `"quoted"` segments for names holding `.` or `:` (`((a."b.c"))`).
 */
export interface VarReference {
  /** The var source: a name from `var_sources`, `.` for local vars, or undefined for the managers. */
  readonly source?: string | undefined;
  /** The name the manager looks up. */
  readonly path: string;
  /** Fields selected from the value, outermost first. */
  readonly fields: readonly string[];
}

/** The var source that names a build's local vars. */
export const LOCAL_SOURCE = '.';

/**
 * What counts as a reference inside a string: Concourse's own pattern, so text that only looks
 * a little like one (shell arithmetic such as `$((i + 1))`) is left alone, as Concourse leaves it.
 */
const REFERENCE_PATTERN = /\(\((([-/.\w\p{L}]+:)?[-/.:@"\w\p{L}]+)\)\)/gu;

/** One reference found in a string: the whole `((…))` text, what is inside, and where. */
export interface FoundReference {
  readonly text: string;
  readonly inner: string;
  readonly index: number;
}

export function findReferences(text: string): FoundReference[] {
  if (!text.includes('((')) return [];
  return [...text.matchAll(REFERENCE_PATTERN)].map((match) => ({
    text: match[0],
    inner: match[1] ?? '',
    index: match.index ?? 0,
  }));
}

/**
 * Parse what is inside `((…))` (the parentheses may be included). Throws
 * CC_E_CREDS_INVALID_REFERENCE naming the reference when it is malformed.
 */
export function parseReference(text: string): VarReference {
  const inner = text.startsWith('((') && text.endsWith('))') ? text.slice(2, -2) : text;
  const invalid = (reason: string) =>
    new ConveyorError('CC_E_CREDS_INVALID_REFERENCE', `invalid var ((${inner})): ${reason}`, {
      details: { reference: `((${inner}))` },
    });

  if (inner.trim() === '') throw invalid('it is empty');
  if ((inner.match(/"/g)?.length ?? 0) % 2 !== 0) throw invalid('contains unclosed quotes');

  let rest = inner;
  let source: string | undefined;
  const colon = indexOfUnquoted(rest, ':');
  if (colon >= 0) {
    source = rest.slice(0, colon);
    if (source.includes('"')) throw invalid('the var source name must not be quoted');
    if (source.trim() === '') throw invalid('the var source name before ":" is empty');
    rest = rest.slice(colon + 1);
  }

  const segments: string[] = [];
  for (;;) {
    const dot = indexOfUnquoted(rest, '.');
    const raw = dot >= 0 ? rest.slice(0, dot) : rest;
    // Spaces around a segment go; spaces inside its quotes stay.
    const segment = raw.trim().replaceAll('"', '');
    if (segment === '') throw invalid('empty field');
    segments.push(segment);
    if (dot < 0) break;
    rest = rest.slice(dot + 1);
  }
  const [path = '', ...fields] = segments;
  return { source, path, fields };
}

/** A reference as it would be written, quoting segments that need it. */
export function formatReference(reference: VarReference): string {
  const segments = [reference.path, ...reference.fields].map((segment) =>
    /[,.:/ "]/.test(segment) ? `"${segment}"` : segment,
  );
  return `${reference.source === undefined ? '' : `${reference.source}:`}${segments.join('.')}`;
}

function indexOfUnquoted(text: string, wanted: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') quoted = !quoted;
    else if (char === wanted && !quoted) return i;
  }
  return -1;
}
