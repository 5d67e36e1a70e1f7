/**
 * The validated pipeline model: what `validatePipeline` produces from Concourse YAML and what the
 * scheduler, checker and plan compiler consume. Field names are camelCase; raw step and hook
 * configuration stays as validated YAML (snake_case, as the user wrote it), typed by the pipeline
 * schema's generated types.
 */

/** A resource version: a flat map of strings, as Concourse has it. */
export type ResourceVersion = Record<string, string>;

/** A step of a job plan as the user wrote it (validated against the pipeline schema). */
export type StepConfig = Record<string, unknown>;

export interface ResourceModel {
  name: string;
  /** Plugin reference (`git`, `git@^2`) or the name of one of the pipeline's resource_types. */
  type: string;
  /** The source as written, over the `defaults:` of its pipeline resource type (if it has one). */
  source: Record<string, unknown>;
  /** Milliseconds between checks; null for `check_every: never`. Default 1 minute, as Concourse. */
  checkEveryMs: number | null;
  checkTimeoutMs: number;
  /** A version pinned in the config (`version:` on the resource). */
  pinnedVersion?: ResourceVersion;
  tags: string[];
  public: boolean;
  icon?: string;
  webhookToken?: string;
  /** The resource's previous name, so its versions and history carry over a rename. */
  oldName?: string;
  /** Give put steps BUILD_CREATED_BY. */
  exposeBuildCreatedBy?: boolean;
}

export interface ResourceTypeModel {
  name: string;
  type: string;
  source: Record<string, unknown>;
  params: Record<string, unknown>;
  checkEveryMs: number | null;
  tags: string[];
  privileged: boolean;
  /** `defaults:` merged into every resource's source of this type. */
  defaults: Record<string, unknown>;
}

/** One `get` step of a job's plan, wherever it sits in the plan: what the scheduler resolves. */
export interface JobInput {
  /** The artifact name (`get:`). */
  name: string;
  resource: string;
  trigger: boolean;
  /** Jobs a version must have passed through (all of them) to be used here. */
  passed: string[];
  /** `latest` (default), `every`, or a pinned version. */
  version: 'latest' | 'every' | ResourceVersion;
  /** The get's `params`, when it has any. */
  params?: Record<string, unknown>;
  /** The get's worker tags, when it has any. */
  tags?: string[];
}

/** One `put` of a job's plan: the resource versions a build of the job produces. */
export interface JobOutput {
  name: string;
  resource: string;
}

export interface JobModel {
  name: string;
  plan: StepConfig[];
  inputs: JobInput[];
  outputs: JobOutput[];
  serial: boolean;
  /** Jobs sharing a serial group never run builds at the same time. `serial: true` = a group of its own. */
  serialGroups: string[];
  /** null = unlimited. `serial: true` means 1. */
  maxInFlight: number | null;
  buildLogRetention?: { builds?: number; days?: number; minimumSucceededBuilds?: number };
  onSuccess?: StepConfig;
  onFailure?: StepConfig;
  onError?: StepConfig;
  onAbort?: StepConfig;
  ensure?: StepConfig;
  interruptible: boolean;
  public: boolean;
  disableManualTrigger: boolean;
  oldName?: string;
}

export interface GroupModel {
  name: string;
  jobs: string[];
}

export interface VarSourceModel {
  name: string;
  type: string;
  config: Record<string, unknown>;
}

export interface DisplayModel {
  backgroundImage?: string;
}

export interface PipelineModel {
  resources: ResourceModel[];
  resourceTypes: ResourceTypeModel[];
  jobs: JobModel[];
  groups: GroupModel[];
  varSources: VarSourceModel[];
  display?: DisplayModel;
}
