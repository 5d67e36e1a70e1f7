import type { YamlPath } from '../yaml-source.js';
import { isRecord } from './findings.js';
import { childSteps, hookKeys, type StepType, stepTypeOf } from './step-kinds.js';

/** A well-formed step met on a walk through a job, with where it is. */
export interface StepVisit {
  type: StepType;
  step: Record<string, unknown>;
  segments: YamlPath;
}

export interface StepVisitor {
  /** Before the step's own children; `across` scopes start here. */
  enter?(visit: StepVisit): void;
  /** After the step's children, before its hooks (hooks run outside `across`). */
  leave?(visit: StepVisit): void;
}

/**
 * Visit every well-formed step of a job in the order Concourse's StepRecursor does: the plan, then
 * each step's children, then its hooks inner to outer (on_success, on_failure, on_abort,
 * on_error, ensure), and the job's own hooks last. Malformed steps are skipped: the structure
 * check reports them.
 */
export function visitJob(job: Record<string, unknown>, jobSegments: YamlPath, visitor: StepVisitor): void {
  if (Array.isArray(job.plan)) {
    job.plan.forEach((step, i) => {
      visitStep(step, [...jobSegments, 'plan', i], visitor);
    });
  }
  for (const hook of [...hookKeys].reverse()) {
    if (hook in job) visitStep(job[hook], [...jobSegments, hook], visitor);
  }
}

function visitStep(value: unknown, segments: YamlPath, visitor: StepVisitor): void {
  const type = stepTypeOf(value);
  if (type === undefined || !isRecord(value)) return;
  const visit: StepVisit = { type, step: value, segments };
  visitor.enter?.(visit);
  for (const [relative, child] of childSteps(type, value))
    visitStep(child, [...segments, ...relative], visitor);
  visitor.leave?.(visit);
  for (const hook of [...hookKeys].reverse()) {
    if (hook in value) visitStep(value[hook], [...segments, hook], visitor);
  }
}

/** The resource a get or put step uses: `resource:`, else its name. */
export function stepResource(step: Record<string, unknown>, type: 'get' | 'put'): string | undefined {
  const resource = step.resource ?? step[type];
  return typeof resource === 'string' ? resource : undefined;
}

/** The records of a top-level list, with their indices (non-mappings skipped). */
export function recordsOf(value: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(value)) return [];
  const records: Array<[number, Record<string, unknown>]> = [];
  value.forEach((item, i) => {
    if (isRecord(item)) records.push([i, item]);
  });
  return records;
}

/** A string field, or undefined. */
export function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}
