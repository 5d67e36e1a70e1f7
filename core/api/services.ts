import type { Readable } from 'node:stream';
import type { BuildEvent } from '../events/build-event.generated.js';
import type { Build } from './generated/build.generated.js';
import type { CheckResponse } from './generated/check-response.generated.js';
import type { Container } from './generated/container.generated.js';
import type { CreateBuildRequest } from './generated/create-build-request.generated.js';
import type { Job } from './generated/job.generated.js';
import type { Pipeline } from './generated/pipeline.generated.js';
import type { PipelineConfigProblem } from './generated/pipeline-config-problem.generated.js';
import type { Resource } from './generated/resource.generated.js';
import type { ResourceVersion } from './generated/resource-version.generated.js';
import type { Version } from './generated/version.generated.js';
import type { Volume } from './generated/volume.generated.js';

/*
 * What the pipeline, job, build and resource routes need from the rest of the core. The API owns
 * these interfaces and imports no implementation: the composition root (core/server) adapts the
 * database, scheduler, checker, validator and executor to them and passes them in ApiDeps.
 *
 * Conventions every implementation follows:
 * - Methods return the API's own JSON shapes (the types generated from core/api/schemas), so
 *   the routes send what they get.
 * - Failures reject with a ConveyorError whose status the API answers with. A missing team,
 *   pipeline, job, build, resource or version rejects with the matching 404 error of
 *   service-errors.ts (`pipelineNotFound(ref)`, ...), checked outermost first, so the client
 *   learns which part of the path is wrong.
 * - `by` is the name of the principal making the request, for `paused_by` and `created_by`.
 */

export interface PipelineRef {
  team: string;
  pipeline: string;
}

export interface JobRef extends PipelineRef {
  job: string;
}

export interface ResourceRef extends PipelineRef {
  resource: string;
}

/**
 * Which page of a list, newest first. At most one of `before` and `since` is set: `before` asks
 * for the `limit` items just older than that id, `since` for the `limit` items just newer than it
 * (still answered newest first), neither for the newest `limit` items.
 */
export interface PageRequest {
  limit: number;
  before?: number;
  since?: number;
}

/** One page, newest first, and whether there is more on either side of it (for the Link header). */
export interface Page<T> {
  items: T[];
  /** There are items older than the last one of `items`. */
  hasOlder: boolean;
  /** There are items newer than the first one of `items`. */
  hasNewer: boolean;
}

export interface SetPipelineConfigInput {
  /** The YAML text; stored as it is, so GET .../config gives it back byte for byte. */
  config: string;
  vars?: Record<string, unknown>;
  /** Store only if the stored version is this one; else reject with `pipelineConfigConflict`. */
  expectedVersion?: number;
  /** Look up the config's `((vars))` first; reject with CC_E_PIPELINE_CREDS_MISSING when one is not found. */
  checkCreds?: boolean;
  by: string;
}

export interface SetPipelineConfigResult {
  created: boolean;
  version: number;
  warnings: PipelineConfigProblem[];
}

export interface PipelineService {
  /** Every pipeline when `team` is undefined, else the team's (rejecting `teamNotFound`). */
  list(team?: string): Promise<Pipeline[]>;
  get(ref: PipelineRef): Promise<Pipeline>;
  /** The config as last set. */
  getConfig(ref: PipelineRef): Promise<{ config: string; version: number }>;
  /**
   * Validates and stores a config, creating the pipeline if need be. An invalid config rejects
   * with the validator's ConveyorError (status 400) whose `details.problems` lists each problem
   * with its path, line and column; the API passes it through unchanged.
   */
  setConfig(ref: PipelineRef, input: SetPipelineConfigInput): Promise<SetPipelineConfigResult>;
  pause(ref: PipelineRef, by: string): Promise<Pipeline>;
  unpause(ref: PipelineRef): Promise<Pipeline>;
  /** Deletes the pipeline with its jobs, builds and versions. */
  delete(ref: PipelineRef): Promise<void>;
}

export interface JobService {
  /** The pipeline's jobs in config order, each with its next and finished build. */
  list(ref: PipelineRef): Promise<Job[]>;
  get(ref: JobRef): Promise<Job>;
  pause(ref: JobRef, by: string): Promise<Job>;
  unpause(ref: JobRef): Promise<Job>;
  /** A new pending build of the job; rejects `manualTriggerDisabled` if the job forbids it. */
  trigger(ref: JobRef, by: string): Promise<Build>;
  listBuilds(ref: JobRef, page: PageRequest): Promise<Page<Build>>;
  getBuild(ref: JobRef, name: string): Promise<Build>;
  /** A new build of the job with the inputs of build `name` (named `<name>.<n>`). */
  rerun(ref: JobRef, name: string, by: string): Promise<Build>;
}

/** One stored event of a build and its index in the build (0, 1, 2, ...): the SSE `id:`. */
export interface BuildEventRecord {
  id: number;
  event: BuildEvent;
}

export interface BuildEventsOptions {
  /** The index of the first event to yield. */
  from: number;
  /**
   * Aborted when the client goes away (or the server closes). The iteration must then end
   * promptly, even while it waits for the next event, and release whatever it holds (a LISTEN
   * connection, a timer); the API aborts it after every stream, however the stream ended.
   */
  signal: AbortSignal;
}

export interface BuildService {
  /** Builds of every team, newest first. */
  list(page: PageRequest): Promise<Page<Build>>;
  get(id: number): Promise<Build>;
  /** Aborts a pending or running build; a finished build is answered unchanged. */
  abort(id: number, by: string): Promise<Build>;
  /**
   * The build's events from index `from` on: first those stored, then each new one as it is
   * stored, in index order without gaps. The iteration ends (returns) after the last event of a
   * finished build, and the API then sends `end`. Resolves once the subscription is in place, so
   * no event stored after it resolves is missed; rejects `buildNotFound` before any is sent.
   */
  events(id: number, options: BuildEventsOptions): Promise<AsyncIterable<BuildEventRecord>>;
}

export interface ArtifactStreamOptions {
  /** Aborted when the client goes away: stop reading or writing and clean up. */
  signal: AbortSignal;
}

/** One-off builds (`cc execute`): created pending, fed with input uploads, started, drained. */
export interface OneOffBuildService {
  /** A pending build waiting for its inputs; the task config is validated here (400 if invalid). */
  create(team: string, request: CreateBuildRequest, by: string): Promise<Build>;
  /**
   * Stores one input from a tar stream. The stream is read as it arrives (never buffered whole);
   * when the client aborts or the upload exceeds the size limit, it errors, and the implementation
   * must clean up what it stored and reject. Rejects `buildInputUnknown` for an undeclared
   * name and `buildNotPending` once the build has started. An input uploaded twice is replaced.
   * Resolves with the build, whose `pending_inputs` no longer names the input.
   */
  uploadInput(id: number, name: string, tar: Readable, options: ArtifactStreamOptions): Promise<Build>;
  /** Starts the build; rejects `buildInputsMissing` until every declared input is uploaded. */
  start(id: number, by: string): Promise<Build>;
  /**
   * A tar stream of one output of a finished build. Rejects `buildNotFinished` before the build
   * has finished and `buildOutputNotFound` for an undeclared or unproduced output.
   */
  downloadOutput(id: number, name: string, options: ArtifactStreamOptions): Promise<Readable>;
}

export interface CheckInput {
  from?: Version;
  /** Aborted when the client goes away: stop waiting (the check itself may run on). */
  signal: AbortSignal;
}

export interface ResourceService {
  /** The pipeline's resources in config order. */
  list(ref: PipelineRef): Promise<Resource[]>;
  get(ref: ResourceRef): Promise<Resource>;
  /** Versions newest first, in the order checks found them; page cursors are version ids. */
  listVersions(ref: ResourceRef, page: PageRequest): Promise<Page<ResourceVersion>>;
  /**
   * Runs a check now and waits for it. A check that fails rejects with `checkFailed(ref, message)`
   * carrying the check's own message (already redacted).
   */
  check(ref: ResourceRef, input: CheckInput): Promise<CheckResponse>;
  /** Pins the resource to one of its versions; every job then uses that version. */
  pin(ref: ResourceRef, versionId: number, by: string): Promise<Resource>;
  unpin(ref: ResourceRef): Promise<Resource>;
  enableVersion(ref: ResourceRef, versionId: number): Promise<ResourceVersion>;
  disableVersion(ref: ResourceRef, versionId: number): Promise<ResourceVersion>;
}

/**
 * Which of a team's containers or volumes to list; every field given must match. `job` needs
 * `pipeline` and `build` (a build name) needs `job`, else the service rejects with a 400; a
 * pipeline or job that does not exist rejects with its 404.
 */
export interface ContainerFilter {
  pipeline?: string;
  job?: string;
  /** A build name of the job. */
  build?: string;
  buildId?: number;
  /** A step's name or plan id. */
  step?: string;
  /** A container's step type (`task`), a volume's role (`output`). */
  type?: string;
}

export interface ContainerService {
  /** The containers of the team's builds, oldest first; rejects `teamNotFound`. */
  list(team: string, filter: ContainerFilter): Promise<Container[]>;
}

export interface VolumeService {
  /** The volumes of the team's builds, oldest first; rejects `teamNotFound`. */
  list(team: string, filter: ContainerFilter): Promise<Volume[]>;
}

/** A terminal's size, in character cells. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

export interface InterceptRequest {
  buildId: number;
  /** The step whose container to use: its name or plan id. */
  step?: string;
  /** The container's handle. */
  container?: string;
  /** The program, then its arguments. */
  command: [string, ...string[]];
  /** Give the process a terminal, of this size at the start. */
  tty: boolean;
  ttySize?: TerminalSize;
  /** The TERM of a terminal. */
  term?: string;
}

/** What a running intercepted process talks through. */
export interface InterceptIo {
  /**
   * The process's stdin, and the terminal's new sizes among it; the stdin ends when the iteration
   * ends. It must also end once `signal` aborts.
   */
  input: AsyncIterable<Uint8Array | TerminalSize>;
  /** Output as it comes; with a terminal, everything is `stdout`. */
  onOutput(stream: 'stdout' | 'stderr', data: string): void;
  /**
   * Aborted when the client goes away (or the server closes): the process is then stopped,
   * SIGTERM then SIGKILL, through the runtime. The step whose container it is goes on.
   */
  signal: AbortSignal;
}

export interface InterceptExitStatus {
  /** 128+N when killed by signal N. */
  exitStatus: number;
  signal?: string;
}

/** A container found for an intercept and checked against what the request asks, not yet running anything. */
export interface PreparedIntercept {
  readonly container: Container;
  /**
   * Runs the process in the container (in its working directory, with its environment) and
   * resolves once it exited. Rejects with a ConveyorError if the runtime cannot run it.
   */
  run(io: InterceptIo): Promise<InterceptExitStatus>;
}

/** `cc intercept`: a process in the container of a build's step, like fly intercept. */
export interface InterceptService {
  /**
   * Finds the container and checks that the runtime can do what the request asks, before the
   * API upgrades the connection, so a refusal is an HTTP error: `buildNotFound`, then
   * `containerNotFound` (no container matches, or the step is over), `interceptAmbiguous`
   * (several match: name one), `ttyUnsupported` (a terminal on a runtime without them).
   */
  prepare(request: InterceptRequest): Promise<PreparedIntercept>;
}
