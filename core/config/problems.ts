import { formatProblems } from '@conveyor/plugin-api';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { isRecord, pointerSegments } from './json-values.js';
import { configSchema, formatExpectation, knownKeysAt, type SchemaNode } from './schema.js';
import type { PositionTarget, YamlPath, YamlSource } from './yaml-source.js';

/** Where a configuration value came from. */
export type ProblemSource = 'file' | 'env' | 'flag';

/** One thing wrong with the configuration, placed where the user can find it. */
export interface ConfigProblem {
  source: ProblemSource;
  /** Dotted field path, `api.port`, `credentials[0].manager`; empty for the whole document. */
  path: string;
  /** What is wrong and what was expected, without the location: `must be an integer, not a string`. */
  message: string;
  /** The schema keyword that failed (`type`, `enum`, `additionalProperties`, …) or `yaml` for syntax. */
  keyword: string;
  file?: string;
  line?: number;
  column?: number;
  /** The environment variable, for `source: 'env'`. */
  variable?: string;
  /** For an unknown key: the known key it was most likely meant to be. */
  suggestion?: string;
}

/** A schema problem before it is placed in a file, a variable or a flag. */
export interface SchemaFinding {
  segments: YamlPath;
  path: string;
  message: string;
  keyword: string;
  /** Unknown keys are shown at the key, wrong values at the value. */
  target: PositionTarget;
  suggestion?: string;
}

/**
 * Turn Ajv's errors about `data` into findings: readable paths (via plugin-api's formatProblems),
 * messages that say what was expected, and a suggestion for each unknown key. `describeActual`
 * adds what was found instead (`not a string`), which helps in a file but not for environment
 * variables, whose values are all strings. `schema` is the one `errors` came from (for known keys).
 */
export function schemaFindings(
  errors: readonly ErrorObject[] | null | undefined,
  data: unknown,
  options: { describeActual: boolean; schema?: SchemaNode },
): SchemaFinding[] {
  const findings: SchemaFinding[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // The inner error of propertyNames names the bad key itself; this one only says "invalid".
    if (error.keyword === 'propertyNames') continue;
    let segments = pointerSegments(error.instancePath, data);
    let target: PositionTarget = 'value';
    const adjusted: ErrorObject = { ...error };
    if (error.propertyName !== undefined) {
      segments = [...segments, error.propertyName];
      adjusted.instancePath = `${error.instancePath}/${escapePointer(error.propertyName)}`;
      target = 'key';
    }
    const value = valueAt(data, segments);
    if (error.keyword === 'type') {
      const types = ([] as unknown[]).concat(error.params.type).map(String);
      const actual = options.describeActual && target === 'value' ? `, not ${describeValue(value)}` : '';
      adjusted.message = `must be ${types.map(typeName).join(' or ')}${actual}`;
    } else if (error.keyword === 'format') {
      const subject = target === 'key' ? error.propertyName : value;
      adjusted.message = formatExpectation(String(error.params.format), subject) ?? error.message;
    }
    const [problem] = formatProblems([adjusted]);
    if (!problem) continue;
    let { message } = problem;
    let suggestion: string | undefined;
    if (error.keyword === 'additionalProperties') {
      const key = String(error.params.additionalProperty);
      const known = knownKeysAt(segments, options.schema ?? configSchema);
      suggestion = closestKey(key, known);
      if (suggestion) message += `; did you mean \`${suggestion}\`?`;
      else if (known.length > 0) message += ` (known fields: ${known.join(', ')})`;
      segments = [...segments, key];
      target = 'key';
    } else if (error.keyword === 'required') {
      segments = [...segments, String(error.params.missingProperty)];
    } else if (error.propertyName !== undefined && error.keyword === 'format') {
      message = `is not a valid key: it ${message}`;
    }
    const dedupe = `${problem.path}\u0000${message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    findings.push({
      segments,
      path: problem.path,
      message,
      keyword: error.keyword,
      target,
      ...(suggestion ? { suggestion } : {}),
    });
  }
  return findings;
}

/** Place findings in a YAML file: a missing field is reported where its parent is. */
export function placeInFile(findings: readonly SchemaFinding[], source: YamlSource): ConfigProblem[] {
  return findings
    .map((finding) => {
      const { line, column, offset } = source.closestPositionOf(finding.segments, finding.target);
      return { offset, problem: toProblem(finding, 'file', { file: source.file, line, column }) };
    })
    .sort((a, b) => a.offset - b.offset)
    .map(({ problem }) => problem);
}

/** Place findings among environment variables: each names the variable that set the field. */
export function placeInEnv(
  findings: readonly SchemaFinding[],
  variables: ReadonlyMap<string, string>,
): ConfigProblem[] {
  return findings.map((finding) => {
    let variable: string | undefined;
    for (let length = finding.segments.length; length > 0 && !variable; length--) {
      variable = variables.get(finding.segments.slice(0, length).join('.'));
    }
    return toProblem(finding, 'env', { variable });
  });
}

export function placeInFlags(findings: readonly SchemaFinding[]): ConfigProblem[] {
  return findings.map((finding) => toProblem(finding, 'flag', {}));
}

function toProblem(
  finding: SchemaFinding,
  source: ProblemSource,
  place: { file?: string | undefined; line?: number; column?: number; variable?: string | undefined },
): ConfigProblem {
  const problem: ConfigProblem = {
    source,
    path: finding.path,
    message: finding.message,
    keyword: finding.keyword,
  };
  if (place.file !== undefined) problem.file = place.file;
  if (place.line !== undefined) problem.line = place.line;
  if (place.column !== undefined) problem.column = place.column;
  if (place.variable !== undefined) problem.variable = place.variable;
  if (finding.suggestion !== undefined) problem.suggestion = finding.suggestion;
  return problem;
}

/** One line per problem: `conveyor.yaml:4:3: api.port must be an integer, not a string`. */
export function renderProblem(problem: ConfigProblem): string {
  const subject = problem.path ? `${problem.path} ` : '';
  let where: string;
  if (problem.source === 'file') {
    where = [problem.file ?? '<config>', problem.line, problem.column]
      .filter((part) => part !== undefined)
      .join(':');
  } else if (problem.source === 'env') {
    where = problem.variable ?? 'environment';
  } else {
    where = 'flag';
  }
  return `${where}: ${subject}${problem.message}`;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function valueAt(data: unknown, segments: YamlPath): unknown {
  let current = data;
  for (const step of segments) {
    if (Array.isArray(current) && typeof step === 'number') current = current[step];
    else if (isRecord(current)) current = current[String(step)];
    else return undefined;
  }
  return current;
}

/** JSON Schema types in YAML's words. */
function typeName(type: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    null: 'null',
  };
  return names[type] ?? type;
}

/** What a value is, never the value itself: it may be a secret. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a fractional number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/**
 * The known key closest to a misspelt one: the same once case and `_`/`-` are ignored
 * (`dataDir` → `data_dir`), else within a small edit distance counting swapped letters as one edit.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const squash = (text: string) => text.toLowerCase().replace(/[-_]/g, '');
  const same = known.find((candidate) => squash(candidate) === squash(key));
  if (same) return same;
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, at(i - 2, j - 2) + 1);
      d[i * cols + j] = value;
    }
  }
  return at(rows - 1, cols - 1);
}
