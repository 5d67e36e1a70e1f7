import {
  type HookKey,
  hookKeys,
  type JobModel,
  type PipelineModel,
  parseGoDuration,
  type ResourceModel,
  type StepConfig,
  stepTypeOf,
} from '../config/index.js';
import { ConveyorError } from '../errors/index.js';
import type {
  AcrossStep,
  BuildPlan,
  GetStep,
  InParallelStep,
  PlanStep,
  PutStep,
  ResourceTypeRef,
  TaskStep,
  Version,
} from './build-plan.generated.js';

export interface CompileJobPlanOptions {
  /** The pipeline the job belongs to: its resources and resource types. */
  pipeline: PipelineModel;
  /** The version the scheduler chose for each of the job's inputs, by the get step's name. */
  inputVersions: Readonly<Record<string, Version>>;
  /**
   * The current version of each of the pipeline's resource types, by name, so every step of the
   * build runs the same one. Types without a version here are resolved at run time.
   */
  resourceTypes?: Readonly<Record<string, Version>>;
}

/**
 * Compile a job's plan into the build plan the executor walks, nesting modifiers as Concourse's
 * planner does: a step's `timeout` is innermost, then `attempts`, then `across`, then hooks
 * (on_success innermost, ensure outermost); the job's own hooks wrap its whole plan the same
 * way. A put is followed by the implicit get of the version it produced unless `no_get`. Every
 * step gets an id unique within the build.
 */
export function compileJobPlan(job: JobModel, options: CompileJobPlanOptions): BuildPlan {
  const compiler = new PlanCompiler(job, options);
  let root: PlanStep = {
    id: compiler.id(),
    type: 'do',
    steps: job.plan.map((step) => compiler.step(step, [])),
  };
  const jobHooks: Record<HookKey, StepConfig | undefined> = {
    on_success: job.onSuccess,
    on_failure: job.onFailure,
    on_abort: job.onAbort,
    on_error: job.onError,
    ensure: job.ensure,
  };
  for (const hook of [...hookKeys].reverse()) {
    const config = jobHooks[hook];
    if (config) root = { id: compiler.id(), type: 'hook', hook, step: root, next: compiler.step(config, []) };
  }
  const plan: BuildPlan = { schemaVersion: 1, root };
  const resourceTypes = compiler.resourceTypeRefs();
  if (resourceTypes.length > 0) plan.resourceTypes = resourceTypes;
  return plan;
}

class PlanCompiler {
  readonly #job: JobModel;
  readonly #options: CompileJobPlanOptions;
  readonly #usedTypes = new Set<string>();
  #nextId = 1;

  constructor(job: JobModel, options: CompileJobPlanOptions) {
    this.#job = job;
    this.#options = options;
  }

  id(): string {
    return String(this.#nextId++);
  }

  /** A step with its modifiers, innermost first: the step, timeout, attempts, across, hooks. */
  step(config: StepConfig, inheritedTags: readonly string[]): PlanStep {
    const tags = strings(config.tags);
    const effectiveTags = tags.length > 0 ? tags : inheritedTags;
    let step = this.#core(config, effectiveTags);
    if (typeof config.timeout === 'string') {
      const parsed = parseGoDuration(config.timeout);
      // A validated pipeline has only valid durations; a zero timeout still has to end the step.
      const durationMs = parsed.ok ? Math.max(1, Math.round(parsed.ms)) : 1;
      step = { id: this.id(), type: 'timeout', durationMs, step };
    }
    if (typeof config.attempts === 'number')
      step = { id: this.id(), type: 'retry', attempts: config.attempts, step };
    if (Array.isArray(config.across)) step = this.#across(config, step);
    for (const hook of [...hookKeys].reverse()) {
      const next = config[hook];
      if (isRecord(next))
        step = { id: this.id(), type: 'hook', hook, step, next: this.step(next, inheritedTags) };
    }
    return step;
  }

  /** The pipeline resource types the plan uses, and the types those run on in turn. */
  resourceTypeRefs(): ResourceTypeRef[] {
    const byName = new Map(this.#options.pipeline.resourceTypes.map((type) => [type.name, type]));
    const refs: ResourceTypeRef[] = [];
    const added = new Set<string>();
    const pending = [...this.#usedTypes];
    while (pending.length > 0) {
      const name = pending.shift() as string;
      const type = byName.get(name);
      if (!type || added.has(name)) continue;
      added.add(name);
      const ref: ResourceTypeRef = { name: type.name, type: type.type, source: type.source };
      if (Object.keys(type.params).length > 0) ref.params = type.params;
      if (type.privileged) ref.privileged = true;
      const version = this.#options.resourceTypes?.[name];
      if (version) ref.version = version;
      refs.push(ref);
      // A type named after the type it runs on means the plugin of that name, not itself.
      if (type.type !== name) pending.push(type.type);
    }
    return refs;
  }

  #core(config: StepConfig, tags: readonly string[]): PlanStep {
    const type = stepTypeOf(config);
    switch (type) {
      case 'get':
        return this.#get(config, tags);
      case 'put':
        return this.#put(config, tags);
      case 'task':
        return this.#task(config, tags);
      case 'set_pipeline':
        return {
          id: this.id(),
          type: 'set_pipeline',
          name: String(config.set_pipeline),
          file: String(config.file),
          ...optional('vars', record(config.vars)),
          ...optional('varFiles', Array.isArray(config.var_files) ? strings(config.var_files) : undefined),
          ...optional('team', typeof config.team === 'string' ? config.team : undefined),
          ...optional('instanceVars', record(config.instance_vars)),
        };
      case 'load_var':
        return {
          id: this.id(),
          type: 'load_var',
          name: String(config.load_var),
          file: String(config.file),
          ...optional('format', isLoadVarFormat(config.format) ? config.format : undefined),
          ...optional('reveal', typeof config.reveal === 'boolean' ? config.reveal : undefined),
        };
      case 'in_parallel':
        return this.#inParallel(config, tags);
      case 'do': {
        const id = this.id();
        const children = Array.isArray(config.do) ? config.do : [];
        return { id, type: 'do', steps: children.filter(isRecord).map((child) => this.step(child, tags)) };
      }
      case 'try': {
        const id = this.id();
        return { id, type: 'try', step: this.step(isRecord(config.try) ? config.try : {}, tags) };
      }
      default:
        throw new ConveyorError(
          'CC_E_INTERNAL',
          `job ${this.#job.name}: a step of its plan has no step type; validate the pipeline first`,
        );
    }
  }

  #resource(name: string): ResourceModel {
    const resource = this.#options.pipeline.resources.find((candidate) => candidate.name === name);
    if (!resource) {
      throw new ConveyorError(
        'CC_E_PLAN_UNKNOWN_RESOURCE',
        `job ${this.#job.name} uses resource ${name}, which the pipeline does not have; set the pipeline again`,
        { details: { job: this.#job.name, resource: name } },
      );
    }
    this.#usedTypes.add(resource.type);
    return resource;
  }

  #get(config: StepConfig, tags: readonly string[]): GetStep {
    const name = String(config.get);
    const resource = this.#resource(typeof config.resource === 'string' ? config.resource : name);
    const version = this.#options.inputVersions[name];
    if (!version) {
      throw new ConveyorError(
        'CC_E_PLAN_INPUT_MISSING',
        `job ${this.#job.name}: no version was resolved for its input ${name}; every get step needs one before a build starts`,
        { details: { job: this.#job.name, input: name } },
      );
    }
    return {
      id: this.id(),
      type: 'get',
      name,
      resource: resource.name,
      resourceType: resource.type,
      source: resource.source,
      ...optional('params', record(config.params)),
      version,
      ...optional('tags', tags.length > 0 ? [...tags] : undefined),
    };
  }

  #put(config: StepConfig, tags: readonly string[]): PlanStep {
    const name = String(config.put);
    const resource = this.#resource(typeof config.resource === 'string' ? config.resource : name);
    const put: PutStep = {
      id: this.id(),
      type: 'put',
      name,
      resource: resource.name,
      resourceType: resource.type,
      source: resource.source,
      ...optional('params', record(config.params)),
      ...optional('inputs', putInputs(config.inputs)),
      ...optional('tags', tags.length > 0 ? [...tags] : undefined),
    };
    if (config.no_get === true) return put;
    // The implicit get fetches what the put produced, so later steps can use it under the same name.
    const get: GetStep = {
      id: this.id(),
      type: 'get',
      name,
      resource: resource.name,
      resourceType: resource.type,
      source: resource.source,
      ...optional('params', record(config.get_params)),
      fromPut: put.id,
      ...optional('tags', tags.length > 0 ? [...tags] : undefined),
    };
    return { id: this.id(), type: 'hook', hook: 'on_success', step: put, next: get };
  }

  #task(config: StepConfig, tags: readonly string[]): TaskStep {
    let taskConfig = record(config.config);
    if (taskConfig) taskConfig = this.#taskConfig(taskConfig, record(config.container_limits));
    return {
      id: this.id(),
      type: 'task',
      name: String(config.task),
      ...optional('config', taskConfig),
      ...optional('file', typeof config.file === 'string' ? config.file : undefined),
      ...optional('image', typeof config.image === 'string' ? config.image : undefined),
      ...optional('privileged', typeof config.privileged === 'boolean' ? config.privileged : undefined),
      ...optional('params', record(config.params)),
      ...optional('vars', record(config.vars)),
      ...optional('inputMapping', stringMap(config.input_mapping)),
      ...optional('outputMapping', stringMap(config.output_mapping)),
      ...optional('tags', tags.length > 0 ? [...tags] : undefined),
    };
  }

  /**
   * An inline task config as the executor runs it: the step's `container_limits` over the
   * config's, and the `defaults:` of a pipeline resource type under the image's source, as
   * Concourse applies them.
   */
  #taskConfig(
    config: Record<string, unknown>,
    stepLimits: Record<string, unknown> | undefined,
  ): Record<string, unknown> {
    const result = { ...config };
    if (stepLimits) result.container_limits = { ...(record(config.container_limits) ?? {}), ...stepLimits };
    const image = record(config.image_resource);
    if (image && typeof image.type === 'string') {
      const type = this.#options.pipeline.resourceTypes.find((candidate) => candidate.name === image.type);
      if (type) {
        this.#usedTypes.add(type.name);
        result.image_resource = { ...image, source: { ...type.defaults, ...(record(image.source) ?? {}) } };
      }
    }
    return result;
  }

  #inParallel(config: StepConfig, tags: readonly string[]): InParallelStep {
    const id = this.id();
    const value = config.in_parallel;
    const settings = isRecord(value) ? value : {};
    const children = Array.isArray(value) ? value : Array.isArray(settings.steps) ? settings.steps : [];
    const step: InParallelStep = {
      id,
      type: 'in_parallel',
      steps: children.filter(isRecord).map((child) => this.step(child, tags)),
    };
    if (typeof settings.limit === 'number' && settings.limit > 0) step.limit = settings.limit;
    if (settings.fail_fast === true) step.failFast = true;
    return step;
  }

  #across(config: StepConfig, inner: PlanStep): AcrossStep {
    const vars = (config.across as unknown[]).filter(isRecord).map((item) => {
      const acrossVar: AcrossStep['vars'][number] = {
        var: String(item.var),
        // A list, or a `((var))` that is one at run time.
        values: Array.isArray(item.values) || typeof item.values === 'string' ? item.values : [],
      };
      if (item.max_in_flight === 'all' || typeof item.max_in_flight === 'number')
        acrossVar.maxInFlight = item.max_in_flight;
      return acrossVar;
    });
    const step: AcrossStep = { id: this.id(), type: 'across', vars, step: inner };
    if (config.fail_fast === true) step.failFast = true;
    return step;
  }
}

/** `{ key: value }` when the value is there, else nothing: optional plan fields stay absent. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** A put's inputs; any string but `all` and `detect` means none, as in Concourse. */
function putInputs(value: unknown): PutStep['inputs'] {
  if (value === 'all' || value === 'detect') return value;
  if (typeof value === 'string') return [];
  return Array.isArray(value) ? strings(value) : undefined;
}

function isLoadVarFormat(value: unknown): value is 'json' | 'yaml' | 'yml' | 'trim' | 'raw' {
  return typeof value === 'string' && ['json', 'yaml', 'yml', 'trim', 'raw'].includes(value);
}
