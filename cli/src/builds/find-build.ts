import type { ApiClient, Build } from '../client/index.js';
import { CliError } from '../errors/index.js';
import type { JobRef } from '../refs/index.js';

/**
 * The build a command names, as fly resolves `-j`/`-b` (fly/commands/helpers.go GetBuild):
 * - with a job, `-b` is a build name of that job; without `-b`, the job's running build, else
 *   its latest finished one;
 * - without a job, `-b` is a build's global id;
 * - with neither, the latest one-off build (`cc execute`).
 */
export async function findBuild(
  client: ApiClient,
  team: string,
  job: JobRef | undefined,
  build: string | undefined,
): Promise<Build> {
  if (job !== undefined) {
    const path = { team, pipeline: job.pipeline, job: job.job };
    if (build !== undefined) return client.getJobBuild(path, build);
    const found = await client.getJob(path);
    const latest = found.next_build ?? found.finished_build;
    if (latest === null) {
      throw new CliError('CC_E_CLI_NOT_FOUND', `job ${job.pipeline}/${job.job} has no builds yet`, {
        hint: `start one with \`cc trigger-job -j ${job.pipeline}/${job.job}\``,
      });
    }
    return latest;
  }
  if (build !== undefined) return client.getBuild(parseBuildId(build));
  return latestOneOff(client);
}

/** A global build id: a positive integer. With `-j`, `-b` is a name instead. */
export function parseBuildId(value: string): number {
  const id = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new CliError('CC_E_CLI_USAGE', `--build "${value}" is not a build id`, {
      hint: 'without --job, --build takes the global id `cc builds` shows; with -j PIPELINE/JOB, the build name',
    });
  }
  return id;
}

async function latestOneOff(client: ApiClient): Promise<Build> {
  let before: number | undefined;
  // Newest first, a page at a time, as fly does; stop at the first one-off build.
  for (let pages = 0; pages < 100; pages++) {
    const page = await client.listBuilds(before === undefined ? { limit: 100 } : { limit: 100, before });
    const oneOff = page.items.find((build) => build.job_name === undefined);
    if (oneOff !== undefined) return oneOff;
    if (page.before === undefined) break;
    before = page.before;
  }
  throw new CliError('CC_E_CLI_NOT_FOUND', 'there is no one-off build to watch', {
    hint: 'name a build: cc watch -j PIPELINE/JOB [-b NAME], or cc watch -b ID',
  });
}
