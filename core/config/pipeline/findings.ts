import { isRecord } from '../json-values.js';
import type { PositionTarget, YamlPath, YamlSource } from '../yaml-source.js';

export type Severity = 'error' | 'warning';

/** One thing wrong with (or worth a look in) a pipeline, placed where the user can find it. */
export interface PipelineProblem {
  file: string;
  line: number;
  column: number;
  /** Field path like `jobs[0].plan[1].get`; empty for the whole document. */
  path: string;
  /** What is wrong and what was expected, without the location. */
  message: string;
  severity: Severity;
  /** For a misspelt key or name: the known one it was most likely meant to be. */
  suggestion?: string;
}

/** A problem before it is placed in the file. */
export interface Finding {
  segments: YamlPath;
  /** Unknown keys are shown at the key, wrong values at the value. */
  target: PositionTarget;
  message: string;
  severity: Severity;
  suggestion?: string;
}

/** Collects findings; the validators push into one of these. */
export class Findings {
  readonly list: Finding[] = [];

  error(
    segments: YamlPath,
    message: string,
    extra: { target?: PositionTarget; suggestion?: string } = {},
  ): void {
    this.#add(segments, message, 'error', extra);
  }

  warn(
    segments: YamlPath,
    message: string,
    extra: { target?: PositionTarget; suggestion?: string } = {},
  ): void {
    this.#add(segments, message, 'warning', extra);
  }

  push(...findings: Finding[]): void {
    this.list.push(...findings);
  }

  get hasErrors(): boolean {
    return this.list.some((finding) => finding.severity === 'error');
  }

  #add(
    segments: YamlPath,
    message: string,
    severity: Severity,
    extra: { target?: PositionTarget; suggestion?: string },
  ): void {
    this.list.push({
      segments,
      message,
      severity,
      target: extra.target ?? 'value',
      ...(extra.suggestion === undefined ? {} : { suggestion: extra.suggestion }),
    });
  }
}

/** `['jobs', 0, 'plan', 1, 'get']` → `jobs[0].plan[1].get`. */
export function formatPath(segments: YamlPath): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path;
}

/** Place findings in the file, in file order, without repeating one. */
export function placeFindings(
  findings: readonly Finding[],
  source: YamlSource,
  file: string,
): PipelineProblem[] {
  const seen = new Set<string>();
  const placed: Array<{ offset: number; order: number; problem: PipelineProblem }> = [];
  findings.forEach((finding, order) => {
    const path = formatPath(finding.segments);
    const key = `${finding.severity}\u0000${path}\u0000${finding.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    const { line, column, offset } = source.closestPositionOf(finding.segments, finding.target);
    const problem: PipelineProblem = {
      file,
      line,
      column,
      path,
      message: finding.message,
      severity: finding.severity,
    };
    if (finding.suggestion !== undefined) problem.suggestion = finding.suggestion;
    placed.push({ offset, order, problem });
  });
  return placed.sort((a, b) => a.offset - b.offset || a.order - b.order).map(({ problem }) => problem);
}

/** One line per problem: `pipeline.yml:4:7: jobs[0].plan[1].get unknown resource ...`. */
export function renderPipelineProblem(problem: PipelineProblem): string {
  const subject = problem.path ? `${problem.path}: ` : '';
  const label = problem.severity === 'warning' ? 'warning: ' : '';
  return `${problem.file}:${problem.line}:${problem.column}: ${label}${subject}${problem.message}`;
}

/** What a value is, never the value itself: it may be a secret. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a fractional number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

export { isRecord };

/** The value at `segments` inside `data`, or undefined. */
export function valueAt(data: unknown, segments: YamlPath): unknown {
  let current = data;
  for (const step of segments) {
    if (Array.isArray(current) && typeof step === 'number') current = current[step];
    else if (isRecord(current)) current = current[String(step)];
    else return undefined;
  }
  return current;
}
