/**
 * An in-memory implementation of the API's service interfaces (core/api/services.ts), for route
 * tests: pipelines, jobs, builds, build events, one-off build artifacts and resource versions
 * live in maps, so the routes can be driven through fastify.inject() or a loopback socket and
 * their behaviour observed. It is NOT a stand-in for Postgres behaviour: no transactions, no
 * concurrency control, no scheduler, no real pipeline validation (it checks only what the route
 * tests need, in the shape the validator reports). Tests of persistence use the real database.
 */
import { Readable } from 'node:stream';
import {
  type ApiDeps,
  type Build,
  type BuildEventRecord,
  type BuildEventsOptions,
  buildInputsMissing,
  buildInputUnknown,
  buildNotFinished,
  buildNotFound,
  buildNotPending,
  buildOutputNotFound,
  type CheckInput,
  type CheckResponse,
  type Container,
  type ContainerFilter,
  type CreateBuildRequest,
  checkFailed,
  containerNotFound,
  type InterceptExitStatus,
  type InterceptIo,
  type InterceptRequest,
  interceptAmbiguous,
  type Job,
  type JobRef,
  jobBuildNotFound,
  jobNotFound,
  manualTriggerDisabled,
  type Page,
  type PageRequest,
  type Pipeline,
  type PipelineConfigProblem,
  type PipelineRef,
  pipelineConfigConflict,
  pipelineNotFound,
  type Resource,
  type ResourceRef,
  type ResourceVersion,
  resourceNotFound,
  resourcePinnedInConfig,
  resourceVersionNotFound,
  type SetPipelineConfigInput,
  type SetPipelineConfigResult,
  teamNotFound,
  ttyUnsupported,
  type Version,
  type Volume,
} from '@conveyor/core/api';
import { parseYamlSource, type YamlPath, type YamlSource } from '@conveyor/core/config';
import { ConveyorError } from '@conveyor/core/errors';

export type ApiServices = Pick<
  ApiDeps,
  'pipelines' | 'jobs' | 'builds' | 'oneOffBuilds' | 'resources' | 'containers' | 'volumes' | 'intercept'
>;
type BuildEvent = BuildEventRecord['event'];
type BuildStatus = Build['status'];

interface JobState {
  id: number;
  name: string;
  paused: boolean;
  pausedBy?: string;
  pausedAt?: number;
  disableManualTrigger: boolean;
  inputs: Job['inputs'];
  outputs: Job['outputs'];
  /** Build ids, oldest first. */
  builds: number[];
  lastBuildNumber: number;
}

interface VersionState {
  id: number;
  version: Version;
  metadata: ResourceVersion['metadata'];
  enabled: boolean;
}

type CheckOutcome = { versions: Version[] } | { error: string };

interface ResourceState {
  name: string;
  type: string;
  /** Oldest first: the order checks found them. */
  versions: VersionState[];
  pinnedVersionId?: number;
  pinnedInConfig?: Version;
  lastChecked?: number;
  checkError?: string;
  nextCheck?: CheckOutcome;
}

interface PipelineState {
  id: number;
  team: string;
  name: string;
  paused: boolean;
  pausedBy?: string;
  pausedAt?: number;
  config: string;
  version: number;
  lastUpdated: number;
  groups: Pipeline['groups'];
  jobs: Map<string, JobState>;
  resources: Map<string, ResourceState>;
}

interface OneOffState {
  inputs: string[];
  outputs: string[];
  uploaded: Map<string, Buffer>;
  produced: Map<string, Buffer>;
}

interface BuildState {
  build: Build;
  events: BuildEvent[];
  /** Woken whenever an event is stored or the status changes. */
  waiters: Set<() => void>;
  /** `team/pipeline` and job name, for job builds. */
  pipelineKey?: string;
  job?: string;
  oneOff?: OneOffState;
}

const topLevelKeys = new Set(['resources', 'resource_types', 'jobs', 'groups', 'var_sources', 'display']);
const finishedStatuses = new Set<BuildStatus>(['succeeded', 'failed', 'errored', 'aborted']);
const identifierPattern = /^[a-z][a-z0-9_.-]*$/;

const now = () => Math.floor(Date.now() / 1000);
const pipelineKey = (ref: PipelineRef) => `${ref.team}/${ref.pipeline}`;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface InMemoryApiServicesOptions {
  /** Pipelines start paused when first set, as in Concourse and the real server; unpaused unless told. */
  newPipelinesPaused?: boolean;
}

export class InMemoryApiServices {
  readonly services: ApiServices;
  /**
   * The "task" of one-off builds: called once a one-off build has started, to do what the
   * executor would (read `uploadedInput`, `produceOutput`, `appendEvent`, `finishBuild`). Unset,
   * a started one-off build stays started until the test finishes it.
   */
  oneOffTask: ((id: number) => void | Promise<void>) | undefined;
  /** Every `setConfig` input, in order, to see what the route passed. */
  readonly setConfigCalls: SetPipelineConfigInput[] = [];
  /** Every check request's `from`, in order. */
  readonly checkCalls: Array<Version | undefined> = [];
  /**
   * What an intercepted process does, in place of a runtime; unset, an intercept is refused once
   * the container is found. `intercept.prepare` refuses a terminal unless `interceptTty` is set.
   */
  interceptProcess:
    | ((container: Container, request: InterceptRequest, io: InterceptIo) => Promise<InterceptExitStatus>)
    | undefined;
  interceptTty = false;
  readonly #containers: Container[] = [];
  readonly #volumes: Volume[] = [];
  readonly #teams = new Set(['main']);
  readonly #pipelines = new Map<string, PipelineState>();
  readonly #builds = new Map<number, BuildState>();
  readonly #uploadProgress = new Map<string, number>();
  readonly #uploadStates = new Map<string, 'reading' | 'stored' | 'failed'>();
  #openSubscriptions = 0;
  #nextId = { pipeline: 1, job: 1, build: 1, version: 1 };
  readonly #newPipelinesPaused: boolean;

  constructor(options: InMemoryApiServicesOptions = {}) {
    this.#newPipelinesPaused = options.newPipelinesPaused ?? false;
    this.services = {
      pipelines: {
        list: async (team) => this.#listPipelines(team),
        get: async (ref) => this.#presentPipeline(this.#pipeline(ref)),
        getConfig: async (ref) => {
          const state = this.#pipeline(ref);
          return { config: state.config, version: state.version };
        },
        setConfig: async (ref, input) => this.#setConfig(ref, input),
        pause: async (ref, by) => {
          const state = this.#pipeline(ref);
          Object.assign(state, { paused: true, pausedBy: by, pausedAt: now() });
          return this.#presentPipeline(state);
        },
        unpause: async (ref) => {
          const state = this.#pipeline(ref);
          state.paused = false;
          delete state.pausedBy;
          delete state.pausedAt;
          return this.#presentPipeline(state);
        },
        delete: async (ref) => {
          const state = this.#pipeline(ref);
          for (const job of state.jobs.values()) for (const id of job.builds) this.#builds.delete(id);
          this.#pipelines.delete(pipelineKey(ref));
        },
      },
      jobs: {
        list: async (ref) => {
          const state = this.#pipeline(ref);
          return [...state.jobs.values()].map((job) => this.#presentJob(state, job));
        },
        get: async (ref) => {
          const { pipeline, job } = this.#job(ref);
          return this.#presentJob(pipeline, job);
        },
        pause: async (ref, by) => {
          const { pipeline, job } = this.#job(ref);
          Object.assign(job, { paused: true, pausedBy: by, pausedAt: now() });
          return this.#presentJob(pipeline, job);
        },
        unpause: async (ref) => {
          const { pipeline, job } = this.#job(ref);
          job.paused = false;
          delete job.pausedBy;
          delete job.pausedAt;
          return this.#presentJob(pipeline, job);
        },
        trigger: async (ref, by) => {
          const { job } = this.#job(ref);
          if (job.disableManualTrigger) throw manualTriggerDisabled(ref);
          return this.createJobBuild(ref, { by });
        },
        listBuilds: async (ref, page) => {
          const { job } = this.#job(ref);
          return paginate(this.#jobBuilds(job), page, (build) => build.id);
        },
        getBuild: async (ref, name) => this.#jobBuild(ref, name).build,
        rerun: async (ref, name, by) => {
          const { job } = this.#job(ref);
          if (job.disableManualTrigger) throw manualTriggerDisabled(ref);
          const original = this.#jobBuild(ref, name).build;
          const reruns = this.#jobBuilds(job).filter((b) => b.rerun_of?.id === original.id).length;
          return this.#addJobBuild(ref, job, `${original.name}.${reruns + 1}`, {
            created_by: by,
            rerun_of: { id: original.id, name: original.name },
            rerun_number: reruns + 1,
          });
        },
      },
      builds: {
        list: async (page) => {
          const all = [...this.#builds.values()].map((s) => s.build).sort((a, b) => b.id - a.id);
          return paginate(all, page, (build) => build.id);
        },
        get: async (id) => this.#build(id).build,
        abort: async (id) => {
          const state = this.#build(id);
          if (!finishedStatuses.has(state.build.status)) this.finishBuild(id, 'aborted');
          return state.build;
        },
        events: async (id, options) => this.#subscribe(this.#build(id), options),
      },
      oneOffBuilds: {
        create: async (team, request, by) => this.#createOneOff(team, request, by),
        uploadInput: async (id, name, tar) => {
          const { state, oneOff } = this.#oneOff(id, () => buildInputUnknown(id, name, []));
          if (state.build.status !== 'pending') throw buildNotPending(id, state.build.status);
          if (!oneOff.inputs.includes(name)) throw buildInputUnknown(id, name, oneOff.inputs);
          const key = `${id}/${name}`;
          const chunks: Buffer[] = [];
          this.#uploadProgress.set(key, 0);
          this.#uploadStates.set(key, 'reading');
          // Read as it arrives, as a real volume writer would; a stream that errors (the client
          // went away, the size limit tripped) rejects and stores nothing.
          try {
            for await (const chunk of tar) {
              const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
              chunks.push(buffer);
              this.#uploadProgress.set(key, (this.#uploadProgress.get(key) ?? 0) + buffer.length);
            }
          } catch (error) {
            this.#uploadStates.set(key, 'failed');
            throw error;
          }
          this.#uploadStates.set(key, 'stored');
          oneOff.uploaded.set(name, Buffer.concat(chunks));
          state.build.pending_inputs = oneOff.inputs.filter((input) => !oneOff.uploaded.has(input));
          return state.build;
        },
        start: async (id) => {
          const { state, oneOff } = this.#oneOff(id);
          if (state.build.status !== 'pending') throw buildNotPending(id, state.build.status);
          const missing = oneOff.inputs.filter((input) => !oneOff.uploaded.has(input));
          if (missing.length > 0) throw buildInputsMissing(id, missing);
          this.startBuild(id);
          const task = this.oneOffTask;
          // After the reply, as an executor runs the build apart from the request that started it.
          if (task !== undefined) setImmediate(() => void task(id));
          return state.build;
        },
        downloadOutput: async (id, name) => {
          const { state, oneOff } = this.#oneOff(id, () => buildOutputNotFound(id, name));
          if (!finishedStatuses.has(state.build.status)) throw buildNotFinished(id, state.build.status);
          const output = oneOff.outputs.includes(name) ? oneOff.produced.get(name) : undefined;
          if (output === undefined) throw buildOutputNotFound(id, name);
          return Readable.from([output]);
        },
      },
      resources: {
        list: async (ref) => {
          const state = this.#pipeline(ref);
          return [...state.resources.values()].map((resource) => this.#presentResource(ref, resource));
        },
        get: async (ref) => this.#presentResource(ref, this.#resource(ref)),
        listVersions: async (ref, page) => {
          const versions = [...this.#resource(ref).versions].reverse().map(presentVersion);
          return paginate(versions, page, (version) => version.id);
        },
        check: async (ref, input) => this.#check(ref, input),
        pin: async (ref, versionId) => {
          const resource = this.#resource(ref);
          if (resource.pinnedInConfig !== undefined) throw resourcePinnedInConfig(ref);
          this.#version(ref, versionId);
          resource.pinnedVersionId = versionId;
          return this.#presentResource(ref, resource);
        },
        unpin: async (ref) => {
          const resource = this.#resource(ref);
          if (resource.pinnedInConfig !== undefined) throw resourcePinnedInConfig(ref);
          delete resource.pinnedVersionId;
          return this.#presentResource(ref, resource);
        },
        enableVersion: async (ref, versionId) => {
          const version = this.#version(ref, versionId);
          version.enabled = true;
          return presentVersion(version);
        },
        disableVersion: async (ref, versionId) => {
          const version = this.#version(ref, versionId);
          version.enabled = false;
          return presentVersion(version);
        },
      },
      containers: {
        list: async (team, filter) => this.#listed(this.#containers, team, filter),
      },
      volumes: {
        list: async (team, filter) => this.#listed(this.#volumes, team, filter),
      },
      intercept: {
        prepare: async (request) => {
          const build = this.#build(request.buildId).build;
          const found = this.#containers.filter(
            (c) =>
              c.build_id === build.id &&
              c.state === 'created' &&
              (request.container === undefined || c.handle === request.container) &&
              (request.step === undefined || c.step_name === request.step || c.plan_id === request.step),
          );
          const [container, ...others] = found;
          if (container === undefined) {
            const which = request.step === undefined ? undefined : `step ${JSON.stringify(request.step)}`;
            throw containerNotFound(build.id, which, build.status);
          }
          if (others.length > 0) throw interceptAmbiguous(build.id, found);
          if (request.tty && !this.interceptTty) throw ttyUnsupported('local');
          return {
            container,
            run: async (io) => {
              const process = this.interceptProcess;
              if (process === undefined) {
                throw new ConveyorError(
                  'CC_E_INTERNAL',
                  'the in-memory world runs no processes: set interceptProcess',
                );
              }
              return process(container, request, io);
            },
          };
        },
      },
    };
  }

  // --- What tests do to the world, standing in for the scheduler, checker and executor. ---

  addTeam(name: string): void {
    this.#teams.add(name);
  }

  /** A new pending build of a job, as the scheduler would create it. */
  createJobBuild(ref: JobRef, options: { by?: string } = {}): Build {
    const { job } = this.#job(ref);
    job.lastBuildNumber += 1;
    return this.#addJobBuild(
      ref,
      job,
      String(job.lastBuildNumber),
      options.by === undefined ? {} : { created_by: options.by },
    );
  }

  /** Stores an event of a build, as the executor would; returns its index. */
  appendEvent(id: number, event: BuildEvent): number {
    const state = this.#build(id);
    state.events.push(event);
    wake(state);
    return state.events.length - 1;
  }

  startBuild(id: number): void {
    const state = this.#build(id);
    state.build.status = 'started';
    state.build.start_time = now();
    this.appendEvent(id, { event: 'status', data: { status: 'started', time: now() } });
  }

  /** Ends a build with its status event, as the executor would. */
  finishBuild(id: number, status: Exclude<BuildStatus, 'pending' | 'started'>): void {
    const state = this.#build(id);
    state.build.status = status;
    state.build.end_time = now();
    this.appendEvent(id, { event: 'status', data: { status, time: now() } });
  }

  /** What a one-off build's task left in one of its outputs. */
  produceOutput(id: number, name: string, tar: Buffer): void {
    this.#oneOff(id).oneOff.produced.set(name, tar);
  }

  /** What an uploaded input holds, once its upload finished. */
  uploadedInput(id: number, name: string): Buffer | undefined {
    return this.#oneOff(id).oneOff.uploaded.get(name);
  }

  /** How many bytes of an input the service has read so far (while the upload is going on, too). */
  uploadProgress(id: number, name: string): number {
    return this.#uploadProgress.get(`${id}/${name}`) ?? 0;
  }

  /** Where the last upload of an input got to: still reading, stored, or failed (and discarded). */
  uploadState(id: number, name: string): 'reading' | 'stored' | 'failed' | undefined {
    return this.#uploadStates.get(`${id}/${name}`);
  }

  /** Stores versions found by a check, oldest first; returns them with their ids. */
  addVersions(ref: ResourceRef, versions: Version[]): ResourceVersion[] {
    const resource = this.#resource(ref);
    const stored = versions.map((version) => this.#storeVersion(resource, version));
    resource.lastChecked = now();
    return stored.map(presentVersion);
  }

  /** What the next check of a resource reports: versions (oldest first), or an error. */
  setNextCheck(ref: ResourceRef, outcome: CheckOutcome): void {
    this.#resource(ref).nextCheck = outcome;
  }

  /** A container, as the executor would record it for a step of a build. */
  addContainer(container: Container): void {
    this.#containers.push(container);
  }

  addVolume(volume: Volume): void {
    this.#volumes.push(volume);
  }

  /** The team's containers or volumes that match, after the 404s of the pipeline and job named. */
  #listed<T extends Container | Volume>(items: readonly T[], team: string, filter: ContainerFilter): T[] {
    this.#team(team);
    if (filter.pipeline !== undefined) {
      if (filter.job === undefined) this.#pipeline({ team, pipeline: filter.pipeline });
      else this.#job({ team, pipeline: filter.pipeline, job: filter.job });
    }
    return items.filter(
      (item) =>
        item.team_name === team &&
        (filter.pipeline === undefined || item.pipeline_name === filter.pipeline) &&
        (filter.job === undefined || item.job_name === filter.job) &&
        (filter.build === undefined || item.build_name === filter.build) &&
        (filter.buildId === undefined || item.build_id === filter.buildId) &&
        (filter.step === undefined || item.step_name === filter.step || item.plan_id === filter.step) &&
        (filter.type === undefined || item.type === filter.type),
    );
  }

  /** Event subscriptions not released yet. */
  get openSubscriptions(): number {
    return this.#openSubscriptions;
  }

  // --- Lookups: outermost first, so the error names the first part of the path that is wrong. ---

  #team(team: string): void {
    if (!this.#teams.has(team)) throw teamNotFound(team);
  }

  #pipeline(ref: PipelineRef): PipelineState {
    this.#team(ref.team);
    const state = this.#pipelines.get(pipelineKey(ref));
    if (state === undefined) throw pipelineNotFound(ref);
    return state;
  }

  #job(ref: JobRef): { pipeline: PipelineState; job: JobState } {
    const pipeline = this.#pipeline(ref);
    const job = pipeline.jobs.get(ref.job);
    if (job === undefined) throw jobNotFound(ref);
    return { pipeline, job };
  }

  #jobBuilds(job: JobState): Build[] {
    return job.builds.flatMap((id) => this.#builds.get(id)?.build ?? []).sort((a, b) => b.id - a.id);
  }

  #jobBuild(ref: JobRef, name: string): BuildState {
    const { job } = this.#job(ref);
    for (const id of job.builds) {
      const state = this.#builds.get(id);
      if (state?.build.name === name) return state;
    }
    throw jobBuildNotFound(ref, name);
  }

  #build(id: number): BuildState {
    const state = this.#builds.get(id);
    if (state === undefined) throw buildNotFound(id);
    return state;
  }

  /** A one-off build; `otherwise` is the error for a job build, which has no uploads or downloads. */
  #oneOff(id: number, otherwise?: () => ConveyorError): { state: BuildState; oneOff: OneOffState } {
    const state = this.#build(id);
    if (state.oneOff === undefined) throw otherwise?.() ?? buildNotPending(id, state.build.status);
    return { state, oneOff: state.oneOff };
  }

  #resource(ref: ResourceRef): ResourceState {
    const resource = this.#pipeline(ref).resources.get(ref.resource);
    if (resource === undefined) throw resourceNotFound(ref);
    return resource;
  }

  #version(ref: ResourceRef, versionId: number): VersionState {
    const version = this.#resource(ref).versions.find((v) => v.id === versionId);
    if (version === undefined) throw resourceVersionNotFound(ref, versionId);
    return version;
  }

  // --- The services' work. ---

  #listPipelines(team: string | undefined): Pipeline[] {
    if (team !== undefined) this.#team(team);
    return [...this.#pipelines.values()]
      .filter((state) => team === undefined || state.team === team)
      .map((state) => this.#presentPipeline(state));
  }

  #setConfig(ref: PipelineRef, input: SetPipelineConfigInput): SetPipelineConfigResult {
    this.#team(ref.team);
    this.setConfigCalls.push(input);
    const existing = this.#pipelines.get(pipelineKey(ref));
    const current = existing?.version ?? 0;
    if (input.expectedVersion !== undefined && input.expectedVersion !== current) {
      throw pipelineConfigConflict(ref, input.expectedVersion, current);
    }
    const { config, warnings } = validatePipeline(input.config);
    const state: PipelineState = existing ?? {
      id: this.#nextId.pipeline++,
      team: ref.team,
      name: ref.pipeline,
      paused: this.#newPipelinesPaused,
      config: '',
      version: 0,
      lastUpdated: 0,
      groups: [],
      jobs: new Map(),
      resources: new Map(),
    };
    const jobs = new Map<string, JobState>();
    for (const job of config.jobs) {
      const old = state.jobs.get(job.name);
      jobs.set(job.name, {
        ...(old ?? { id: this.#nextId.job++, name: job.name, paused: false, builds: [], lastBuildNumber: 0 }),
        disableManualTrigger: job.disableManualTrigger,
        inputs: job.inputs,
        outputs: job.outputs,
      });
    }
    const resources = new Map<string, ResourceState>();
    for (const resource of config.resources) {
      const old = state.resources.get(resource.name);
      const next: ResourceState = { ...(old ?? { versions: [] }), name: resource.name, type: resource.type };
      if (resource.pinned === undefined) delete next.pinnedInConfig;
      else next.pinnedInConfig = resource.pinned;
      resources.set(resource.name, next);
    }
    Object.assign(state, {
      config: input.config,
      version: current + 1,
      lastUpdated: now(),
      groups: config.groups,
      jobs,
      resources,
    });
    this.#pipelines.set(pipelineKey(ref), state);
    return { created: existing === undefined, version: state.version, warnings };
  }

  #addJobBuild(ref: JobRef, job: JobState, name: string, extra: Partial<Build>): Build {
    const build: Build = {
      id: this.#nextId.build++,
      name,
      status: 'pending',
      team_name: ref.team,
      pipeline_name: ref.pipeline,
      job_name: ref.job,
      ...extra,
    };
    job.builds.push(build.id);
    this.#builds.set(build.id, {
      build,
      events: [],
      waiters: new Set(),
      pipelineKey: pipelineKey(ref),
      job: ref.job,
    });
    return build;
  }

  #createOneOff(team: string, request: CreateBuildRequest, by: string): Build {
    this.#team(team);
    if (request.inputs_from !== undefined) {
      this.#job({ team, pipeline: request.inputs_from.pipeline, job: request.inputs_from.job });
    }
    const id = this.#nextId.build++;
    const build: Build = {
      id,
      name: String(id),
      status: 'pending',
      team_name: team,
      created_by: by,
      pending_inputs: [...request.inputs],
    };
    this.#builds.set(id, {
      build,
      events: [],
      waiters: new Set(),
      oneOff: { inputs: request.inputs, outputs: request.outputs, uploaded: new Map(), produced: new Map() },
    });
    return build;
  }

  /**
   * Events from `from`, then live ones until the build has finished. A subscription counts as
   * open from the call until the iteration ends or, if it never starts, until the signal aborts.
   */
  #subscribe(state: BuildState, { from, signal }: BuildEventsOptions): AsyncIterable<BuildEventRecord> {
    this.#openSubscriptions++;
    let started = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#openSubscriptions--;
    };
    signal.addEventListener('abort', () => (started ? wake(state) : release()), { once: true });
    async function* iterate(): AsyncGenerator<BuildEventRecord> {
      started = true;
      try {
        let next = from;
        while (!signal.aborted) {
          const event = state.events[next];
          if (event !== undefined) {
            yield { id: next, event };
            next++;
          } else if (finishedStatuses.has(state.build.status)) {
            return;
          } else {
            await new Promise<void>((resolve) => {
              const done = () => {
                state.waiters.delete(done);
                resolve();
              };
              state.waiters.add(done);
              if (signal.aborted) done();
            });
          }
        }
      } finally {
        release();
      }
    }
    return iterate();
  }

  async #check(ref: ResourceRef, input: CheckInput): Promise<CheckResponse> {
    const resource = this.#resource(ref);
    this.checkCalls.push(input.from);
    const outcome = resource.nextCheck ?? { versions: [] };
    delete resource.nextCheck;
    resource.lastChecked = now();
    if ('error' in outcome) {
      resource.checkError = outcome.error;
      throw checkFailed(ref, outcome.error);
    }
    delete resource.checkError;
    const stored = outcome.versions.map((version) => this.#storeVersion(resource, version));
    return { versions: stored.reverse().map(presentVersion), last_checked: resource.lastChecked };
  }

  #storeVersion(resource: ResourceState, version: Version): VersionState {
    const known = resource.versions.find((v) => JSON.stringify(v.version) === JSON.stringify(version));
    if (known !== undefined) return known;
    const stored: VersionState = { id: this.#nextId.version++, version, metadata: [], enabled: true };
    resource.versions.push(stored);
    return stored;
  }

  // --- Presentation: the API's JSON shapes. ---

  #presentPipeline(state: PipelineState): Pipeline {
    return {
      id: state.id,
      name: state.name,
      team_name: state.team,
      paused: state.paused,
      ...(state.pausedBy === undefined ? {} : { paused_by: state.pausedBy }),
      ...(state.pausedAt === undefined ? {} : { paused_at: state.pausedAt }),
      public: false,
      archived: false,
      groups: state.groups,
      last_updated: state.lastUpdated,
    };
  }

  #presentJob(pipeline: PipelineState, job: JobState): Job {
    const builds = this.#jobBuilds(job);
    const running = builds.filter((b) => !finishedStatuses.has(b.status));
    return {
      id: job.id,
      name: job.name,
      team_name: pipeline.team,
      pipeline_name: pipeline.name,
      paused: job.paused,
      ...(job.pausedBy === undefined ? {} : { paused_by: job.pausedBy }),
      ...(job.pausedAt === undefined ? {} : { paused_at: job.pausedAt }),
      disable_manual_trigger: job.disableManualTrigger,
      next_build: running.at(-1) ?? null,
      finished_build: builds.find((b) => finishedStatuses.has(b.status)) ?? null,
      inputs: job.inputs,
      outputs: job.outputs,
      groups: pipeline.groups.filter((g) => g.jobs.includes(job.name)).map((g) => g.name),
    };
  }

  #presentResource(ref: PipelineRef, resource: ResourceState): Resource {
    const pinned =
      resource.pinnedInConfig ?? resource.versions.find((v) => v.id === resource.pinnedVersionId)?.version;
    return {
      name: resource.name,
      team_name: ref.team,
      pipeline_name: ref.pipeline,
      type: resource.type,
      failing_to_check: resource.checkError !== undefined,
      ...(resource.checkError === undefined ? {} : { check_error: resource.checkError }),
      ...(resource.lastChecked === undefined ? {} : { last_checked: resource.lastChecked }),
      ...(pinned === undefined ? {} : { pinned_version: pinned }),
      ...(resource.pinnedInConfig === undefined ? {} : { pinned_in_config: true }),
    };
  }
}

function wake(state: BuildState): void {
  for (const waiter of [...state.waiters]) waiter();
}

function presentVersion(version: VersionState): ResourceVersion {
  return { id: version.id, version: version.version, metadata: version.metadata, enabled: version.enabled };
}

/** A page of a newest-first list, where a newer item always has a larger id (true of this world). */
function paginate<T>(newestFirst: readonly T[], page: PageRequest, idOf: (item: T) => number): Page<T> {
  let items: T[];
  if (page.before !== undefined) {
    const before = page.before;
    const older = newestFirst.filter((item) => idOf(item) < before);
    items = older.slice(0, page.limit);
  } else if (page.since !== undefined) {
    const since = page.since;
    const newer = newestFirst.filter((item) => idOf(item) > since);
    items = newer.slice(Math.max(0, newer.length - page.limit));
  } else {
    items = newestFirst.slice(0, page.limit);
  }
  const first = items[0];
  const last = items.at(-1);
  return {
    items,
    hasOlder: last !== undefined && newestFirst.some((item) => idOf(item) < idOf(last)),
    hasNewer: first !== undefined && newestFirst.some((item) => idOf(item) > idOf(first)),
  };
}

// --- A pipeline "validator" just strict enough for the route tests. ---

interface ParsedPipeline {
  jobs: Array<{
    name: string;
    disableManualTrigger: boolean;
    inputs: Job['inputs'];
    outputs: Job['outputs'];
  }>;
  resources: Array<{ name: string; type: string; pinned?: Version }>;
  groups: Pipeline['groups'];
}

const file = 'pipeline.yml';

/**
 * Parses the config and reports problems in the validator's shape (`CC_E_PIPELINE_INVALID` with
 * `details.problems`, each placed at file:line:column), so the API's pass-through can be seen.
 */
function validatePipeline(text: string): { config: ParsedPipeline; warnings: PipelineConfigProblem[] } {
  const source = parseYamlSource(text, { file });
  if (source.problems.length > 0) {
    invalid(
      source.problems.map((p) => ({
        file,
        line: p.line,
        column: p.column,
        path: '',
        message: p.message,
        severity: 'error',
      })),
    );
  }
  const problems: PipelineConfigProblem[] = [];
  const warnings: PipelineConfigProblem[] = [];
  const place = (path: YamlPath, message: string, target: 'key' | 'value' = 'value') => {
    const { line, column } = source.closestPositionOf(path, target);
    return { file, line, column, path: formatPath(path), message };
  };
  const value = source.value;
  if (!isRecord(value)) invalid([{ ...place([], 'must be a mapping'), severity: 'error' }]);
  for (const key of Object.keys(value)) {
    if (!topLevelKeys.has(key))
      problems.push({ ...place([key], 'is not a pipeline field', 'key'), severity: 'error' });
  }
  const config: ParsedPipeline = { jobs: [], resources: [], groups: [] };
  listAt(value, 'resources', source, problems).forEach((resource, i) => {
    const name = stringAt(resource, 'name', ['resources', i], source, problems);
    const type = stringAt(resource, 'type', ['resources', i], source, problems);
    if (name === undefined || type === undefined) return;
    const pinned = isRecord(resource.version) ? toVersion(resource.version) : undefined;
    config.resources.push({ name, type, ...(pinned === undefined ? {} : { pinned }) });
  });
  listAt(value, 'jobs', source, problems).forEach((job, i) => {
    const name = stringAt(job, 'name', ['jobs', i], source, problems);
    if (name === undefined) return;
    if (!identifierPattern.test(name)) {
      warnings.push({
        ...place(['jobs', i, 'name'], `"${name}" is not a valid identifier`),
        severity: 'warning',
        type: 'invalid_identifier',
      });
    }
    const plan = Array.isArray(job.plan) ? job.plan.filter(isRecord) : [];
    config.jobs.push({
      name,
      disableManualTrigger: job.disable_manual_trigger === true,
      inputs: plan.flatMap((step) =>
        typeof step.get === 'string'
          ? [
              {
                name: step.get,
                resource: typeof step.resource === 'string' ? step.resource : step.get,
                trigger: step.trigger === true,
                ...(Array.isArray(step.passed) ? { passed: step.passed.map(String) } : {}),
              },
            ]
          : [],
      ),
      outputs: plan.flatMap((step) =>
        typeof step.put === 'string'
          ? [{ name: step.put, resource: typeof step.resource === 'string' ? step.resource : step.put }]
          : [],
      ),
    });
  });
  listAt(value, 'groups', source, problems).forEach((group) => {
    if (typeof group.name === 'string' && Array.isArray(group.jobs)) {
      config.groups.push({ name: group.name, jobs: group.jobs.map(String) });
    }
  });
  if (problems.length > 0) invalid(problems);
  return { config, warnings };
}

function invalid(problems: PipelineConfigProblem[]): never {
  const first = problems[0];
  const where = first === undefined ? file : `${first.file}:${first.line}:${first.column}`;
  throw new ConveyorError(
    'CC_E_PIPELINE_INVALID',
    `invalid pipeline config: ${problems.length} problem(s), first at ${where}: ${first?.message}`,
    { details: { problems } },
  );
}

function listAt(
  value: Record<string, unknown>,
  key: string,
  source: YamlSource,
  problems: PipelineConfigProblem[],
): Array<Record<string, unknown>> {
  const list = value[key];
  if (list === undefined) return [];
  if (!Array.isArray(list) || !list.every(isRecord)) {
    const { line, column } = source.closestPositionOf([key]);
    problems.push({
      file,
      line,
      column,
      path: key,
      message: 'must be a list of mappings',
      severity: 'error',
    });
    return [];
  }
  return list;
}

function stringAt(
  item: Record<string, unknown>,
  key: string,
  at: YamlPath,
  source: YamlSource,
  problems: PipelineConfigProblem[],
): string | undefined {
  const value = item[key];
  if (typeof value === 'string' && value !== '') return value;
  const path = [...at, key];
  const { line, column } = source.closestPositionOf(value === undefined ? at : path);
  const message = value === undefined ? `${key} is required` : 'must be a non-empty string';
  problems.push({ file, line, column, path: formatPath(path), message, severity: 'error' });
  return undefined;
}

function toVersion(value: Record<string, unknown>): Version {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function formatPath(segments: YamlPath): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? segment : `.${segment}`;
  }
  return path;
}
