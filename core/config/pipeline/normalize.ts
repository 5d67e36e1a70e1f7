import { isRecord } from './findings.js';
import { childSteps, hookKeys, stepTypeOf } from './step-kinds.js';

/**
 * Drop fields whose value is null (`trigger:` with nothing after it) from the mappings Concourse
 * reads into Go structs, where null means "not set". Free-form maps (`source`, `params`, `vars`)
 * keep their nulls: resource types and tasks see them as written. Works in place on a copy the
 * validator owns.
 */
export function dropNullFields(doc: Record<string, unknown>): void {
  strip(doc);
  for (const list of ['resources', 'resource_types', 'var_sources', 'groups']) eachRecord(doc[list], strip);
  if (isRecord(doc.display)) strip(doc.display);
  eachRecord(doc.jobs, (job) => {
    strip(job);
    if (isRecord(job.build_log_retention)) strip(job.build_log_retention);
    if (Array.isArray(job.plan)) for (const step of job.plan) stripStep(step);
    for (const hook of hookKeys) stripStep(job[hook]);
  });
}

function stripStep(step: unknown): void {
  if (!isRecord(step)) return;
  strip(step);
  eachRecord(step.across, strip);
  if (isRecord(step.in_parallel)) strip(step.in_parallel);
  const config = step.config;
  if (isRecord(config)) {
    strip(config);
    for (const part of ['image_resource', 'run', 'container_limits'])
      if (isRecord(config[part])) strip(config[part]);
    for (const list of ['inputs', 'outputs', 'caches']) eachRecord(config[list], strip);
  }
  if (isRecord(step.container_limits)) strip(step.container_limits);
  const type = stepTypeOf(step);
  if (type !== undefined) for (const [, child] of childSteps(type, step)) stripStep(child);
  for (const hook of hookKeys) stripStep(step[hook]);
}

function strip(record: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(record)) if (value === null) delete record[key];
}

function eachRecord(list: unknown, visit: (record: Record<string, unknown>) => void): void {
  if (Array.isArray(list)) for (const item of list) if (isRecord(item)) visit(item);
}
