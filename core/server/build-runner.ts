import type { BuildMetadata, VolumeRef } from '@conveyor/plugin-api';
import { type JobModel, type PipelineModel, resourceTypePlugin } from '../config/index.js';
import { createInterpolator } from '../creds/index.js';
import {
  applyTrackedChanges,
  type BuildContextRow,
  type BuildRow,
  type BuildToFinish,
  claimStartableBuilds,
  finishBuilds,
  groupCommit,
  heartbeatBuild,
  KEEP_UNTIL_LABEL,
  labelContainerRecords,
  labelVolumeRecords,
  loadBuildContexts,
  type Pool,
  saveBuildOutput,
  type TrackedChange,
} from '../db/index.js';
import { toError } from '../errors/index.js';
import { type BuildEvent, type BuildEventWriter, createBuildEventWriter } from '../events/index.js';
import {
  ARTIFACT_LABEL,
  type ExecutorDeps,
  type KeepCandidate,
  ROLE_LABEL,
  runBuild,
  type SetPipelineRequest,
} from '../executor/index.js';
import { BUILD_LABEL, ownerLabels } from '../gc/index.js';
import {
  type BuildPlan,
  compileJobPlan,
  type PlanStep,
  type PutStep,
  planStepChildren,
} from '../plan/index.js';
import type { PluginClient, PluginHost } from '../plugins/index.js';
import { buildCaches } from './build-caches.js';
import { concourseTypeImage } from './concourse-types.js';
import { type ConfiguredPlugins, pipelineCredentialManagers } from './configured-plugins.js';
import { oneOffTaskStep } from './services/one-off-plan.js';

export interface BuildRunnerOptions {
  pool: Pool;
  /** Names this process on the leases it takes: unique per process. */
  owner: string;
  /** This installation's id, labelled on everything its builds make (see core/gc/labels.ts). */
  installation?: string | undefined;
  plugins: PluginHost;
  configured: ConfiguredPlugins;
  externalUrl: string;
  /** Saves a pipeline for a set_pipeline step (validation included). */
  setPipeline?:
    | ((request: SetPipelineRequest & { team: string }) => Promise<{ changed: boolean }>)
    | undefined;
  /** How long a claimed build's lease lasts without a heartbeat. Default 30 s. */
  leaseMs?: number | undefined;
  /** Time between heartbeats (which also notice abort requests). Default 2 s. */
  heartbeatMs?: number | undefined;
  /** Time between looks for startable builds when idle. Default 500 ms. */
  pollMs?: number | undefined;
  /** Builds run at once by this process. Default 16. */
  concurrency?: number | undefined;
  onError?: ((error: Error) => void) | undefined;
}

export interface BuildRunner {
  /** Look for startable builds now (after a trigger) instead of at the next poll. */
  wake(): void;
  /**
   * Stop claiming; builds still running are interrupted and finish errored with an error event
   * saying why, so none is left `started`.
   */
  stop(): Promise<void>;
}

const kDefaults = { leaseMs: 30_000, heartbeatMs: 2_000, pollMs: 500, concurrency: 16 } as const;

/** How long a one-off build's outputs wait to be downloaded. */
const kOutputRetentionMs = 10 * 60_000;
/** How long a failed job build's containers wait to be intercepted, at most. */
const kInterceptRetentionMs = 12 * 60 * 60_000;

/**
 * What outlives the build: a one-off build's outputs (for `cc execute` to download), and every
 * container and volume of a job build that failed (for `cc intercept`), as Concourse keeps the
 * containers of failed builds. An errored build's are not kept: its runtime may be what broke.
 */
function keeps(build: BuildRow, prepared: PreparedBuild, candidate: KeepCandidate): boolean {
  if (prepared.keepOutputs) return candidate.kind === 'volume' && prepared.outputs.has(candidate.handle);
  return build.job_id !== null && candidate.result === 'failed';
}

/** The worker name rows carry on this single-machine setup. */
const LOCAL_WORKER = 'local';

/**
 * Claims startable builds (FOR UPDATE SKIP LOCKED, with a lease) and runs them with the executor:
 * compiles a job build's plan from its pipeline and resolved inputs, resolves credentials per
 * build, stores every event, records containers and volumes for GC, records put outputs, and
 * finishes the build. Several processes may run one each against the same database.
 */
export function startBuildRunner(options: BuildRunnerOptions): BuildRunner {
  const o: FilledOptions = {
    ...options,
    leaseMs: options.leaseMs ?? kDefaults.leaseMs,
    heartbeatMs: options.heartbeatMs ?? kDefaults.heartbeatMs,
    pollMs: options.pollMs ?? kDefaults.pollMs,
    concurrency: options.concurrency ?? kDefaults.concurrency,
  };
  const running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  // Writes every running build makes, each group-committed: many builds share a round trip.
  const writers: Writers = {
    events: createBuildEventWriter(o.pool),
    track: groupCommit((changes: readonly TrackedChange[]) => applyTrackedChanges(o.pool, changes)),
    finish: groupCommit((builds: readonly BuildToFinish[]) => finishBuilds(o.pool, builds)),
  };
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  const poll = async () => {
    while (!stopping && running.size < o.concurrency) {
      let builds: BuildRow[];
      try {
        builds = await claimStartableBuilds(o.pool, o.owner, o.leaseMs, o.concurrency - running.size);
      } catch (error) {
        o.onError?.(toError(error));
        return;
      }
      if (builds.length === 0) return;
      // One round trip for the configs and inputs of the whole batch; a build whose context
      // could not be read errors with the reason instead of running.
      const contexts = loadBuildContexts(
        o.pool,
        builds.filter((build) => build.job_id !== null).map((build) => build.id),
      );
      contexts.catch(() => undefined);
      for (const claimed of builds) {
        const controller = new AbortController();
        const context = contexts.then((all) => all.get(claimed.id));
        const done = runClaimedBuild(o, writers, claimed, context, controller)
          .catch((error: unknown) => o.onError?.(toError(error)))
          .finally(() => {
            running.delete(claimed.id);
            wake();
          });
        running.set(claimed.id, { controller, done });
      }
    }
  };
  const wake = () => {
    if (stopping) return;
    if (timer) clearTimeout(timer);
    polling ??= poll().finally(() => {
      polling = undefined;
      if (!stopping) timer = setTimeout(wake, o.pollMs);
    });
  };
  wake();

  return {
    wake,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await polling;
      for (const { controller } of running.values()) controller.abort(new ShutdownError());
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}

class ShutdownError extends Error {
  constructor() {
    super('the server shut down while this build ran');
    this.name = 'ShutdownError';
  }
}

interface Writers {
  events: BuildEventWriter;
  track: (change: TrackedChange) => Promise<boolean>;
  finish: (build: BuildToFinish) => Promise<BuildRow>;
}

type FilledOptions = BuildRunnerOptions & {
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  concurrency: number;
};

async function runClaimedBuild(
  o: FilledOptions,
  writers: Writers,
  build: BuildRow,
  context: Promise<BuildContextRow | undefined>,
  controller: AbortController,
): Promise<void> {
  const emit = (events: BuildEvent[]) => writers.events.append(build.id, events).then(() => undefined);
  let leaseLost = false;
  const heartbeat = setInterval(() => {
    heartbeatBuild(o.pool, build.id, o.owner, o.leaseMs).then(
      (beat) => {
        if (beat === null) {
          // Another process recovered the build: stop, and leave its status alone.
          leaseLost = true;
          controller.abort(new Error('the lease on this build was lost'));
        } else if (beat.abortRequested) {
          controller.abort(new Error('aborted by request'));
        }
      },
      (error: unknown) => o.onError?.(toError(error)),
    );
  }, o.heartbeatMs);

  let status: 'succeeded' | 'failed' | 'errored' | 'aborted';
  try {
    const prepared = await prepareBuild(o, build, await context);
    const kept: KeepCandidate[] = [];
    const result = await runBuild(prepared.plan, executorDeps(o, writers, build, prepared, emit), {
      signal: controller.signal,
      ...(prepared.artifacts.size ? { artifacts: prepared.artifacts } : {}),
      keep: (candidate) => {
        const keepIt = keeps(build, prepared, candidate);
        if (keepIt) kept.push(candidate);
        return keepIt;
      },
      onArtifacts: (artifacts) => {
        for (const name of prepared.outputNames) {
          const volume = artifacts.get(name);
          if (volume) prepared.outputs.add(volume.handle);
        }
      },
    });
    status = result;
    // What was kept waits for gc until its time is up (or, for a failed job build, until the
    // job's next build has finished).
    const keepUntil = new Date(
      Date.now() + (prepared.keepOutputs ? kOutputRetentionMs : kInterceptRetentionMs),
    );
    const labels = { [KEEP_UNTIL_LABEL]: keepUntil.toISOString() };
    const handles = (kind: KeepCandidate['kind']) => kept.filter((k) => k.kind === kind).map((k) => k.handle);
    await labelContainerRecords(o.pool, handles('container'), labels);
    await labelVolumeRecords(o.pool, handles('volume'), labels);
    if (result === 'aborted' && controller.signal.reason instanceof ShutdownError) {
      await emit([{ event: 'error', data: { message: controller.signal.reason.message, time: unixNow() } }]);
      status = 'errored';
    }
  } catch (error) {
    await emit([
      {
        event: 'error',
        data: { message: `the build could not run: ${toError(error).message}`, time: unixNow() },
      },
    ]).catch(() => undefined);
    status = 'errored';
  } finally {
    clearInterval(heartbeat);
  }
  if (!leaseLost) await writers.finish({ buildId: build.id, status, owner: o.owner });
}

interface PreparedBuild {
  plan: BuildPlan;
  team: string;
  pipeline: PipelineModel | undefined;
  /** Put steps by id, to record what they produce. */
  puts: Map<string, PutStep>;
  /** Pre-made artifacts (a one-off build's uploaded inputs). */
  artifacts: Map<string, VolumeRef>;
  keepOutputs: boolean;
  outputNames: string[];
  /** Filled when the plan has run: handles of the volumes to keep. */
  outputs: Set<string>;
}

async function prepareBuild(
  o: FilledOptions,
  build: BuildRow,
  context: BuildContextRow | undefined,
): Promise<PreparedBuild> {
  let plan: BuildPlan;
  let pipeline: PipelineModel | undefined;
  if (build.job_id !== null && build.pipeline_id !== null) {
    if (!context?.job_config || !context.pipeline_config) {
      throw new Error(`the job or pipeline of build ${build.id} no longer exists`);
    }
    const inputs = context.inputs;
    pipeline = context.pipeline_config as PipelineModel;
    plan = compileJobPlan(context.job_config as JobModel, {
      pipeline,
      inputVersions: Object.fromEntries(inputs.map((input) => [input.name, input.version])),
    });
  } else if (build.plan) {
    plan = build.plan as BuildPlan;
  } else {
    throw new Error(`build ${build.id} has no plan`);
  }
  const puts = new Map<string, PutStep>();
  walk(plan.root, (step) => {
    if (step.type === 'put') puts.set(step.id, step);
  });

  // A one-off build: its uploaded inputs are volumes labelled with the build, role and name.
  const artifacts = new Map<string, VolumeRef>();
  let outputNames: string[] = [];
  const oneOff = build.job_id === null;
  if (oneOff) {
    const { volumes } = await o.configured.volumes.call('listVolumes', {
      labels: { [BUILD_LABEL]: String(build.id), [ROLE_LABEL]: 'input' },
    });
    for (const info of volumes) {
      const name = info.labels[ARTIFACT_LABEL];
      if (name) artifacts.set(name, info.volume);
    }
    // The one-off task: the root, or last after the gets of `inputs_from`.
    const task = oneOffTaskStep(plan);
    const outputs = (task?.config as { outputs?: Array<{ name: string }> } | undefined)?.outputs ?? [];
    outputNames = outputs.map((output) => output.name);
  }
  return {
    plan,
    team: build.team_name,
    pipeline,
    puts,
    artifacts,
    keepOutputs: oneOff,
    outputNames,
    outputs: new Set(),
  };
}

function executorDeps(
  o: FilledOptions,
  writers: Writers,
  build: BuildRow,
  prepared: PreparedBuild,
  emit: (events: BuildEvent[]) => Promise<void>,
): ExecutorDeps {
  const pipelineName = build.pipeline_name ?? undefined;
  const managers = pipelineCredentialManagers(o.plugins, o.configured, prepared.pipeline);
  const interpolator = createInterpolator({ managers, team: prepared.team, pipeline: pipelineName });
  const metadata: BuildMetadata = {
    id: build.id,
    name: build.name,
    team: prepared.team,
    url: `${o.externalUrl}/builds/${build.id}`,
    ...(pipelineName ? { pipeline: pipelineName } : {}),
    ...(build.job_name ? { job: build.job_name } : {}),
  };
  const resourceTypes = new Map<string, PluginClient<'resource-type'>>();
  const pipelineTypes = new Map((prepared.plan.resourceTypes ?? []).map((t) => [t.name, t]));
  const { runtimeName, volumeDriverName } = o.configured;

  /** Stores events in one transaction; what a put produced becomes a version and an output. */
  async function emitBatch(events: BuildEvent[]): Promise<void> {
    await emit(events);
    for (const event of events) {
      if (event.event !== 'finish-put' || !event.data.succeeded || !event.data.version) continue;
      const put = prepared.puts.get(event.data.origin.id);
      if (put && build.pipeline_id !== null) {
        await saveBuildOutput(o.pool, build.id, {
          name: put.name,
          resource: put.resource,
          version: event.data.version,
          metadata: event.data.metadata?.map((m) => ({ name: m.name, value: m.value })),
        });
      }
    }
  }

  const resourceType = (type: string): PluginClient<'resource-type'> => {
    let client = resourceTypes.get(type);
    if (!client) {
      // A pipeline resource type runs on the plugin it names, or on the `concourse` plugin when
      // it is a Concourse resource-type image; anything else names a plugin.
      client = o.plugins.client('resource-type', resourceTypePlugin(type, pipelineTypes.get(type)));
      resourceTypes.set(type, client);
    }
    return client;
  };
  // The plugin versions a build uses are those installed when it starts: a version installed while
  // it runs is for the builds after it. (A type that does not resolve fails its step, as before.)
  walk(prepared.plan.root, (step) => {
    if (step.type !== 'get' && step.type !== 'put') return;
    try {
      resourceType(step.resourceType);
    } catch {}
  });

  return {
    build: metadata,
    runtime: o.configured.runtime,
    volumes: o.configured.volumes,
    labels: ownerLabels(o.installation),
    caches: buildCaches({
      pool: o.pool,
      volumes: o.configured.volumes,
      volumeDriverName,
      worker: LOCAL_WORKER,
      installation: o.installation,
      build: { id: build.id, jobId: build.job_id },
    }),
    resourceType,
    resourceTypeImage: (type) =>
      concourseTypeImage(
        pipelineTypes.get(type),
        (source) => interpolator.interpolate(source) as Promise<Record<string, unknown>>,
      ),
    emit: (event) => emitBatch([event]),
    emitBatch,
    interpolate: (value, scope) =>
      interpolator.interpolate(value, { localVars: scope.localVars }) as Promise<typeof value>,
    redact: (text) => interpolator.redact(text),
    async track({ kind, handle, state, parent }) {
      await writers.track({
        kind,
        handle,
        state,
        parent,
        plugin: kind === 'container' ? runtimeName : volumeDriverName,
        worker: LOCAL_WORKER,
        buildId: build.id,
      });
    },
    ...(o.setPipeline
      ? {
          setPipeline: (request: SetPipelineRequest) =>
            o.setPipeline!({ ...request, team: request.team ?? prepared.team }),
        }
      : {}),
  };
}

function walk(step: PlanStep, visit: (step: PlanStep) => void): void {
  visit(step);
  for (const child of planStepChildren(step)) walk(child, visit);
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
