import type {
  GroupModel,
  JobInput,
  JobModel,
  JobOutput,
  PipelineModel,
  ResourceModel,
  ResourceTypeModel,
  ResourceVersion,
  StepConfig,
  VarSourceModel,
} from '../pipeline-model.js';
import { isRecord } from './findings.js';
import { compileGlob } from './globs.js';
import { durationMs } from './go-duration.js';
import { recordsOf, stepResource, stringField, visitJob } from './visit.js';

/** Concourse's defaults: check every minute, give a check an hour. */
const defaultCheckEveryMs = 60_000;
const defaultCheckTimeoutMs = 3_600_000;

/**
 * The model of a pipeline that passed validation: camelCase fields, defaults filled in, `passed:`
 * and group globs expanded to job names, each job's inputs and outputs collected from anywhere in
 * its plan and hooks, and `serial` turned into serial groups and a build limit as Concourse does.
 */
export function derivePipelineModel(doc: Record<string, unknown>): PipelineModel {
  const resourceTypes = recordsOf(doc.resource_types).map(([, type]) => resourceTypeModel(type));
  const defaults = new Map(resourceTypes.map((type) => [type.name, type.defaults]));
  const jobNames = recordsOf(doc.jobs).flatMap(([, job]) => {
    const name = stringField(job, 'name');
    return name === undefined ? [] : [name];
  });
  const model: PipelineModel = {
    resources: recordsOf(doc.resources).map(([, resource]) => resourceModel(resource, defaults)),
    resourceTypes,
    jobs: recordsOf(doc.jobs).map(([, job]) => jobModel(job, jobNames)),
    groups: recordsOf(doc.groups).map(
      ([, group]): GroupModel => ({
        name: String(group.name),
        jobs: expandGlobs(strings(group.jobs), jobNames),
      }),
    ),
    varSources: recordsOf(doc.var_sources).map(
      ([, source]): VarSourceModel => ({
        name: String(source.name),
        type: String(source.type),
        config: isRecord(source.config) ? source.config : {},
      }),
    ),
  };
  if (isRecord(doc.display)) {
    const image = stringField(doc.display, 'background_image');
    model.display = image === undefined ? {} : { backgroundImage: image };
  }
  return model;
}

function resourceModel(
  resource: Record<string, unknown>,
  defaults: ReadonlyMap<string, Record<string, unknown>>,
): ResourceModel {
  const type = String(resource.type);
  const model: ResourceModel = {
    name: String(resource.name),
    type,
    source: { ...(defaults.get(type) ?? {}), ...record(resource.source) },
    checkEveryMs: checkEvery(resource.check_every),
    checkTimeoutMs:
      typeof resource.check_timeout === 'string' ? durationMs(resource.check_timeout) : defaultCheckTimeoutMs,
    tags: strings(resource.tags),
    public: resource.public === true,
    exposeBuildCreatedBy: resource.expose_build_created_by === true,
  };
  if (isRecord(resource.version)) model.pinnedVersion = resource.version as ResourceVersion;
  const icon = stringField(resource, 'icon');
  if (icon !== undefined) model.icon = icon;
  const token = stringField(resource, 'webhook_token');
  if (token !== undefined) model.webhookToken = token;
  const oldName = stringField(resource, 'old_name');
  if (oldName !== undefined) model.oldName = oldName;
  return model;
}

function resourceTypeModel(type: Record<string, unknown>): ResourceTypeModel {
  return {
    name: String(type.name),
    type: String(type.type),
    source: record(type.source),
    params: record(type.params),
    checkEveryMs: checkEvery(type.check_every),
    tags: strings(type.tags),
    privileged: type.privileged === true,
    defaults: record(type.defaults),
  };
}

function jobModel(job: Record<string, unknown>, jobNames: readonly string[]): JobModel {
  const name = String(job.name);
  const inputs: JobInput[] = [];
  const outputs: JobOutput[] = [];
  visitJob(job, [], {
    enter({ type, step }) {
      if (type === 'get') inputs.push(jobInput(step, jobNames));
      else if (type === 'put')
        outputs.push({ name: String(step.put), resource: stepResource(step, 'put') ?? String(step.put) });
    },
  });
  const serialGroups = strings(job.serial_groups);
  const serial = job.serial === true;
  const rawMaxInFlight = typeof job.max_in_flight === 'number' ? job.max_in_flight : 0;
  const model: JobModel = {
    name,
    plan: Array.isArray(job.plan) ? (job.plan as StepConfig[]) : [],
    inputs,
    outputs,
    serial,
    // As Concourse: explicit groups win; `serial` or a build limit make a group of the job alone.
    serialGroups: serialGroups.length > 0 ? serialGroups : serial || rawMaxInFlight > 0 ? [name] : [],
    maxInFlight: serial || serialGroups.length > 0 ? 1 : rawMaxInFlight > 0 ? rawMaxInFlight : null,
    interruptible: job.interruptible === true,
    public: job.public === true,
    disableManualTrigger: job.disable_manual_trigger === true,
  };
  const retention = job.build_log_retention;
  if (isRecord(retention)) {
    const value: NonNullable<JobModel['buildLogRetention']> = {};
    if (typeof retention.builds === 'number') value.builds = retention.builds;
    if (typeof retention.days === 'number') value.days = retention.days;
    if (typeof retention.minimum_succeeded_builds === 'number')
      value.minimumSucceededBuilds = retention.minimum_succeeded_builds;
    model.buildLogRetention = value;
  } else if (typeof job.build_logs_to_retain === 'number' && job.build_logs_to_retain > 0) {
    model.buildLogRetention = { builds: job.build_logs_to_retain };
  }
  if (isRecord(job.on_success)) model.onSuccess = job.on_success;
  if (isRecord(job.on_failure)) model.onFailure = job.on_failure;
  if (isRecord(job.on_error)) model.onError = job.on_error;
  if (isRecord(job.on_abort)) model.onAbort = job.on_abort;
  if (isRecord(job.ensure)) model.ensure = job.ensure;
  const oldName = stringField(job, 'old_name');
  if (oldName !== undefined) model.oldName = oldName;
  return model;
}

function jobInput(step: Record<string, unknown>, jobNames: readonly string[]): JobInput {
  const version = step.version;
  const input: JobInput = {
    name: String(step.get),
    resource: stepResource(step, 'get') ?? String(step.get),
    trigger: step.trigger === true,
    passed: expandGlobs(strings(step.passed), jobNames),
    // Any other string means `latest` in Concourse (the validator warns about it).
    version: version === 'every' ? 'every' : isRecord(version) ? (version as ResourceVersion) : 'latest',
  };
  if (isRecord(step.params)) input.params = step.params;
  const tags = strings(step.tags);
  if (tags.length > 0) input.tags = tags;
  return input;
}

/** Job names matching any of the globs, in pipeline order, each once. */
function expandGlobs(patterns: readonly string[], jobNames: readonly string[]): string[] {
  const globs = patterns.flatMap((pattern) => {
    const glob = compileGlob(pattern);
    return glob.ok ? [glob] : [];
  });
  return jobNames.filter((name) => globs.some((glob) => glob.matches(name)));
}

function checkEvery(value: unknown): number | null {
  if (value === 'never') return null;
  return typeof value === 'string' ? durationMs(value) : defaultCheckEveryMs;
}

function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
