import {
  type ClaimedCheckRow,
  finishCheck,
  type Pool,
  releaseCheck,
  saveResourceVersions,
  type Version,
  withTransaction,
} from '../db/index.js';
import { ConveyorError, toError } from '../errors/index.js';
import type { CheckResourceFn, CheckResult } from './types.js';

/**
 * Runs a claimed check and records its outcome: the versions in order (jobs they trigger are asked
 * to schedule), or the error; then when the next check is due, and releases the lease, in one
 * transaction. `from` replaces the newest known version as the check's starting point
 * (`cc check-resource --from`).
 */
export async function runCheck(
  pool: Pool,
  owner: string,
  claimed: ClaimedCheckRow,
  checkResource: CheckResourceFn,
  options: { from?: Version | undefined; signal?: AbortSignal | undefined } = {},
): Promise<CheckResult> {
  const timeout = AbortSignal.timeout(Math.max(1, claimed.check_timeout_ms));
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let versions: Version[] | undefined;
  let failure: string | undefined;
  try {
    const reported = await checkResource(
      {
        id: claimed.id,
        name: claimed.name,
        type: claimed.type,
        source: claimed.source,
        config: claimed.config,
        pipelineId: claimed.pipeline_id,
        pipelineName: claimed.pipeline_name,
        teamName: claimed.team_name,
      },
      options.from ?? claimed.last_version ?? undefined,
      { signal },
    );
    versions = checkVersions(reported, claimed.name);
  } catch (error: unknown) {
    if (options.signal?.aborted === true && !timeout.aborted) {
      // The checker is stopping: the check stays due for whichever checker runs next.
      await releaseCheck(pool, claimed.id, owner);
      return {
        status: 'errored',
        error: 'the checker stopped before the check finished',
        checkedAt: new Date(),
      };
    }
    failure = timeout.aborted
      ? `check timed out after ${claimed.check_timeout_ms} ms (the resource's check_timeout)`
      : toError(error).message;
  }

  return withTransaction(pool, async (client) => {
    let result: CheckResult | undefined;
    if (versions !== undefined) {
      const saved = await saveResourceVersions(
        client,
        claimed.id,
        versions.map((version) => ({ version })),
        claimed.version_scope,
      );
      if (saved === null) {
        failure = "the resource's type or source changed while it was checked; its results were dropped";
      } else {
        result = { status: 'succeeded', versions: saved.versions, checkedAt: new Date() };
      }
    }
    await finishCheck(client, claimed, owner, failure ?? null);
    return result ?? { status: 'errored', error: failure ?? 'the check failed', checkedAt: new Date() };
  });
}

/** The host validates plugin replies; a callback that is not a plugin may still return anything. */
function checkVersions(reported: unknown, resource: string): Version[] {
  const valid =
    Array.isArray(reported) &&
    reported.every(
      (version) =>
        typeof version === 'object' &&
        version !== null &&
        !Array.isArray(version) &&
        Object.values(version).every((value) => typeof value === 'string'),
    );
  if (!valid) {
    throw new ConveyorError(
      'CC_E_SCHEDULER_CHECK_INVALID_VERSIONS',
      `the check of resource ${resource} returned something other than a list of versions (flat maps of strings)`,
    );
  }
  return reported as Version[];
}
