import { randomBytes } from 'node:crypto';
import type { runtime, VolumeRef } from '@conveyor/plugin-api';
import { parse as parseYaml } from 'yaml';
import { ConveyorError } from '../errors/index.js';
import type { TaskStep } from '../plan/build-plan.generated.js';
import { readArtifactFile } from './artifact-files.js';
import type { BuildContext } from './build-context.js';
import { interrupted } from './interruption.js';
import { failed, type StepOutcome, succeeded } from './outcome.js';
import { runInterruptibly } from './process-runner.js';
import { redactDeep } from './redaction.js';
import type { RunScope } from './run-scope.js';
import { substituteStaticVars } from './static-vars.js';
import { isRecord, parseTaskConfig, type TaskConfig } from './task-config.js';
import { taskImage } from './task-image.js';

/**
 * task: run a process in a container with its inputs as copy-on-write children of the artifacts
 * (so the task can never alter an artifact) and its outputs as fresh volumes, registered as
 * artifacts once the process has run. Exit 0 succeeds, anything else fails.
 */
export async function runTaskStep(
  build: BuildContext,
  step: TaskStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const { events, deps } = build;
  const origin = { id: step.id };
  const what = `task ${JSON.stringify(step.name)}`;

  const config = await resolveConfig(build, step, scope, what);
  await events.emit({
    event: 'initialize-task',
    data: { origin, time: events.time(), config: redactDeep(publicConfig(config), events.redact) },
  });
  const info = await build.runtimeInfo();
  if (info.platform && config.platform.toLowerCase() !== info.platform.toLowerCase()) {
    throw new ConveyorError(
      'CC_E_EXEC_PLATFORM_MISMATCH',
      `${what} runs on platform ${config.platform}, but the runtime ${deps.runtime.id} runs ${info.platform}`,
      { details: { platform: config.platform, runtime: info.platform } },
    );
  }
  const inputs = findInputs(step, config, scope, what);
  // What the task writes is owned within the runtime's user namespace, if it has one: unprivileged
  // containers' root can write it, and a privileged container's real root can anyway.
  const idMapping = info.idMapping;
  const image = await taskImage(build, step, config, scope, signal);
  if (signal.aborted) return interrupted(signal);

  // 1. Inputs: a writable child of each artifact, so what the task writes never reaches it.
  const mounts: runtime.Mount[] = [];
  const byPath = new Map<string, VolumeRef>();
  for (const input of inputs) {
    const volume = await build.ledger.createVolume(step.id, 'input', {
      type: 'child',
      parent: input.artifact.handle,
    });
    mounts.push({ volume, destination: input.path });
    byPath.set(input.path, volume);
  }
  // 2. Outputs: fresh volumes; an output at an input's path is that input's child, as in Concourse.
  const outputs: Array<{ artifact: string; volume: VolumeRef }> = [];
  for (const output of config.outputs) {
    const artifact = step.outputMapping?.[output.name] ?? output.name;
    let volume = byPath.get(output.path);
    if (!volume) {
      volume = await build.ledger.createVolume(step.id, 'output', { type: 'empty' }, { artifact, idMapping });
      mounts.push({ volume, destination: output.path });
      byPath.set(output.path, volume);
    }
    outputs.push({ artifact, volume });
  }
  // 3. Caches: the job's, kept between builds where the caller keeps them.
  for (const cache of config.caches) {
    if (byPath.has(cache.path)) continue;
    // The job's cache for this step and path persists across builds; otherwise it starts empty.
    const volume =
      (await build.deps.caches?.task(step.name, cache.path, { idMapping })) ??
      (await build.ledger.createVolume(step.id, 'cache', { type: 'empty' }, { idMapping }));
    mounts.push({ volume, destination: cache.path });
    byPath.set(cache.path, volume);
  }
  if (signal.aborted) return interrupted(signal);

  const handle = await build.ledger.createContainer(step.id, 'task', {
    image,
    // Concourse's layout: the task runs in /tmp/build/<random>, its inputs and outputs under it.
    dir: `/tmp/build/${randomBytes(4).toString('hex')}`,
    env: config.env,
    mounts,
    ...(step.privileged ? { privileged: true } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
  });
  if (signal.aborted) return interrupted(signal);

  await events.emit({ event: 'start-task', data: { origin, time: events.time() } });
  const stdout = events.logWriter({ id: step.id, source: 'stdout' });
  const stderr = events.logWriter({ id: step.id, source: 'stderr' });
  let result: Awaited<ReturnType<typeof runInterruptibly>>;
  try {
    result = await runInterruptibly(
      deps.runtime,
      {
        handle,
        processId: 'task',
        process: {
          path: config.run.path,
          args: config.run.args,
          ...(config.run.dir ? { dir: config.run.dir } : {}),
          ...(config.run.user ? { user: config.run.user } : {}),
        },
      },
      {
        signal,
        graceMs: build.killGracePeriodMs,
        onOutput: (stream, data) => (stream === 'stdout' ? stdout : stderr).write(data),
      },
    );
  } finally {
    stdout.end();
    stderr.end();
  }

  // Outputs count even when the task failed: an on_failure hook may want to look at them.
  for (const { artifact, volume } of outputs) scope.registerArtifact(artifact, volume);
  if (result.interrupted) return interrupted(signal);
  await events.emit({
    event: 'finish-task',
    data: { origin, time: events.time(), succeeded: result.exitStatus === 0, exit_status: result.exitStatus },
  });
  return result.exitStatus === 0 ? succeeded : failed;
}

/**
 * The config as Concourse builds it: the file (read from its artifact, its `vars` filled in) or
 * the inline config, the step's params over the config's, then `((vars))` resolved, then checked.
 */
async function resolveConfig(
  build: BuildContext,
  step: TaskStep,
  scope: RunScope,
  what: string,
): Promise<TaskConfig> {
  let raw: unknown;
  if (step.file) {
    const file = await build.interpolate(step.file, scope, `the file of ${what}`);
    const text = (await readArtifactFile(build.deps, scope, file, `the config file of ${what}`)).toString(
      'utf8',
    );
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw new ConveyorError(
        'CC_E_EXEC_TASK_CONFIG_INVALID',
        `${what}: the config file ${JSON.stringify(file)} is not valid YAML: ${(error as Error).message}`,
        { cause: error, details: { file } },
      );
    }
    if (step.vars)
      raw = substituteStaticVars(raw, await build.interpolate(step.vars, scope, `the vars of ${what}`));
  } else {
    raw = step.config;
  }
  if (raw === undefined) {
    throw new ConveyorError('CC_E_EXEC_TASK_CONFIG_INVALID', `${what} has neither a config nor a file`);
  }
  if (step.params && isRecord(raw)) {
    raw = { ...raw, params: { ...(isRecord(raw.params) ? raw.params : {}), ...step.params } };
  }
  const interpolated = await build.interpolate(raw, scope, `the config of ${what}`);
  return parseTaskConfig(interpolated, what);
}

/** Each input's artifact (after input_mapping); every missing non-optional one is named. */
function findInputs(
  step: TaskStep,
  config: TaskConfig,
  scope: RunScope,
  what: string,
): Array<{ path: string; artifact: VolumeRef }> {
  const found: Array<{ path: string; artifact: VolumeRef }> = [];
  const missing: string[] = [];
  for (const input of config.inputs) {
    const name = step.inputMapping?.[input.name] ?? input.name;
    const artifact = scope.artifact(name);
    if (artifact) found.push({ path: input.path, artifact });
    else if (!input.optional) missing.push(name);
  }
  if (missing.length > 0) {
    throw new ConveyorError(
      'CC_E_EXEC_INPUT_MISSING',
      `${what}: missing inputs: ${missing.join(', ')}; add a get step or a task output of that name before it, or map the input to an artifact with input_mapping`,
      { details: { missing } },
    );
  }
  return found;
}

/** The config as the initialize-task event shows it (Concourse's field names). */
function publicConfig(config: TaskConfig): Record<string, unknown> {
  return {
    platform: config.platform,
    ...(config.imageResource ? { image_resource: config.imageResource } : {}),
    inputs: config.inputs,
    outputs: config.outputs,
    ...(config.caches.length ? { caches: config.caches } : {}),
    params: config.env,
    run: config.run,
  };
}
