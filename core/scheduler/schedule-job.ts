import {
  type BuildRow,
  createJobBuild,
  getBuild,
  inputKey,
  lockJobForScheduling,
  markJobScheduled,
  type Pool,
  type PoolClient,
  pendingScheduledBuild,
  replacePendingBuildInputs,
  type SchedulableJobRow,
  usedInputs,
  withTransaction,
} from '../db/index.js';
import { ConveyorError } from '../errors/index.js';
import { type ResolvedInput, resolveInputs } from './resolve-inputs.js';

export type ScheduleOutcome =
  /** A new pending build with the resolved inputs. */
  | { outcome: 'created'; build: BuildRow }
  /** The job's pending (not yet started) build got newer inputs instead of a second build queueing. */
  | { outcome: 'updated'; build: BuildRow }
  /** No trigger input has a version the job has not built yet. */
  | { outcome: 'unchanged' }
  /** Some input has no version that fits; `reason` says which and why (also kept on the job). */
  | { outcome: 'waiting'; input: string; reason: string }
  /** The job is paused, removed, or its pipeline paused or archived. */
  | { outcome: 'skipped'; reason: 'paused' | 'inactive' | 'pipeline-paused' | 'pipeline-archived' };

/**
 * Looks at one job now, in a transaction of its own that holds the job's row (so two schedulers
 * never schedule one job at once): see scheduleLockedJob.
 */
export async function scheduleJob(pool: Pool, jobId: number): Promise<ScheduleOutcome> {
  return withTransaction(pool, async (client) => {
    const job = await lockJobForScheduling(client, jobId);
    if (job === null) return { outcome: 'skipped', reason: 'inactive' };
    return scheduleLockedJob(client, job);
  });
}

/**
 * Resolves the job's inputs and makes a build when a `trigger: true` input has a version no build
 * of the job has used yet. With `version: every` each new version gets a build of its own; else a
 * pending build the scheduler made earlier, not started yet, takes the newer versions instead, so
 * a busy serial job runs the latest versions next rather than every one in between (as Concourse
 * decides a pending build's inputs when it starts). Runs in the caller's transaction on a job row
 * it has locked, and marks the job scheduled.
 */
export async function scheduleLockedJob(
  client: PoolClient,
  job: SchedulableJobRow,
): Promise<ScheduleOutcome> {
  const skipped = skipReason(job);
  if (skipped !== null) return { outcome: 'skipped', reason: skipped };

  const resolution = await resolveInputs(client, job.id);
  if (!resolution.ok) {
    await markJobScheduled(
      client,
      job.id,
      job.schedule_requested_at,
      `${resolution.input}: ${resolution.reason}`,
    );
    return { outcome: 'waiting', input: resolution.input, reason: resolution.reason };
  }
  const outcome = await buildIfTriggered(client, job, resolution.inputs);
  await markJobScheduled(client, job.id, job.schedule_requested_at, null);
  return outcome;
}

async function buildIfTriggered(
  client: PoolClient,
  job: SchedulableJobRow,
  inputs: readonly ResolvedInput[],
): Promise<ScheduleOutcome> {
  const triggers = inputs.filter((input) => input.trigger);
  const used = await usedInputs(client, job.id, triggers, null);
  if (!triggers.some((input) => !used.has(inputKey(input.name, input.resourceVersionId)))) {
    return { outcome: 'unchanged' };
  }
  const toSave = inputs.map((input) => ({ name: input.name, resourceVersionId: input.resourceVersionId }));
  if (!inputs.some((input) => input.every)) {
    const pending = await pendingScheduledBuild(client, job.id);
    if (pending !== null && (await replacePendingBuildInputs(client, pending, job.id, toSave))) {
      const build = await getBuild(client, pending);
      if (build !== null) return { outcome: 'updated', build };
    }
  }
  return { outcome: 'created', build: await createJobBuild(client, { jobId: job.id, inputs: toSave }) };
}

function skipReason(
  job: SchedulableJobRow,
): Extract<ScheduleOutcome, { outcome: 'skipped' }>['reason'] | null {
  if (!job.active) return 'inactive';
  if (job.pipeline_archived) return 'pipeline-archived';
  if (job.pipeline_paused) return 'pipeline-paused';
  if (job.paused) return 'paused';
  return null;
}

export interface TriggerOptions {
  /** Who triggered the build (shown as its creator). */
  by?: string | undefined;
}

/**
 * A manual trigger (`cc trigger-job`): resolves the inputs now, whatever the triggers say, and
 * makes a pending build with them. Rejects CC_E_SCHEDULER_INPUTS_UNRESOLVED, naming the input,
 * when one has no version that fits; CC_E_SCHEDULER_MANUAL_TRIGGER_DISABLED when the job forbids
 * manual triggers. A paused job (or pipeline) can be triggered: the build waits until unpaused.
 */
export async function triggerJob(pool: Pool, jobId: number, options: TriggerOptions = {}): Promise<BuildRow> {
  return withTransaction(pool, async (client) => {
    const job = await lockJobForScheduling(client, jobId);
    if (job === null || !job.active) {
      throw new ConveyorError('CC_E_SCHEDULER_JOB_NOT_FOUND', `job ${jobId} does not exist or was removed`, {
        details: { jobId },
      });
    }
    if (job.pipeline_archived) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_PIPELINE_ARCHIVED',
        `job ${job.name} belongs to an archived pipeline; set the pipeline again to trigger it`,
        { details: { jobId } },
      );
    }
    if (job.disable_manual_trigger) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_MANUAL_TRIGGER_DISABLED',
        `job ${job.name} has disable_manual_trigger: true, so it only runs when its triggers fire`,
        { details: { jobId } },
      );
    }
    const resolution = await resolveInputs(client, jobId);
    if (!resolution.ok) {
      throw new ConveyorError(
        'CC_E_SCHEDULER_INPUTS_UNRESOLVED',
        `job ${job.name} cannot be triggered: input ${resolution.input}: ${resolution.reason}`,
        { details: { jobId, input: resolution.input } },
      );
    }
    return createJobBuild(client, {
      jobId,
      inputs: resolution.inputs.map((input) => ({
        name: input.name,
        resourceVersionId: input.resourceVersionId,
      })),
      manuallyTriggered: true,
      createdBy: options.by,
    });
  });
}
