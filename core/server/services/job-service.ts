import {
  type JobRef,
  type JobService,
  jobBuildNotFound,
  jobNotFound,
  manualTriggerDisabled,
} from '../../api/index.js';
import {
  getJobBuild,
  listJobBuilds,
  listJobs,
  type PipelineRow,
  pauseJob,
  rerunBuild,
  unpauseJob,
} from '../../db/index.js';
import { triggerJob } from '../../scheduler/index.js';
import type { ApiServicesDeps } from './deps.js';
import { requireActiveJobId, requireJob, requirePipeline } from './lookups.js';
import { jobModel, presentBuild, presentJob } from './present.js';
import { translating } from './translate-error.js';

export function createJobService(deps: ApiServicesDeps): JobService {
  const { pool } = deps;

  /** The job as lists show it, with its next and finished build. */
  const present = async (ref: JobRef, pipeline: PipelineRow) => {
    const row = (await listJobs(pool, pipeline.id)).find((job) => job.name === ref.job);
    if (row === undefined) throw jobNotFound(ref);
    return presentJob(row, pipeline);
  };
  const jobGone = (ref: JobRef) => ({ CC_E_SCHEDULER_JOB_NOT_FOUND: () => jobNotFound(ref) });

  return {
    async list(ref) {
      const pipeline = await requirePipeline(pool, ref);
      return (await listJobs(pool, pipeline.id)).map((row) => presentJob(row, pipeline));
    },

    async get(ref) {
      const { pipeline } = await requireJob(pool, ref);
      return present(ref, pipeline);
    },

    async pause(ref, by) {
      const { pipeline, job } = await requireJob(pool, ref);
      await translating(jobGone(ref), () => pauseJob(pool, job.id, by));
      return present(ref, pipeline);
    },

    async unpause(ref) {
      const { pipeline, job } = await requireJob(pool, ref);
      await translating(jobGone(ref), () => unpauseJob(pool, job.id));
      return present(ref, pipeline);
    },

    async trigger(ref, by) {
      const jobId = await requireActiveJobId(pool, ref);
      const build = await translating(
        {
          ...jobGone(ref),
          CC_E_SCHEDULER_MANUAL_TRIGGER_DISABLED: () => manualTriggerDisabled(ref),
        },
        () => triggerJob(pool, jobId, { by }),
      );
      return presentBuild(build);
    },

    async listBuilds(ref, page) {
      // A job gone from the config keeps its builds viewable.
      const { job } = await requireJob(pool, ref, { removed: true });
      const builds = await listJobBuilds(pool, job.id, page);
      return { ...builds, items: builds.items.map((build) => presentBuild(build)) };
    },

    async getBuild(ref, name) {
      const { job } = await requireJob(pool, ref, { removed: true });
      const build = await getJobBuild(pool, job.id, name);
      if (build === null) throw jobBuildNotFound(ref, name);
      return presentBuild(build);
    },

    async rerun(ref, name, by) {
      const { job } = await requireJob(pool, ref);
      const build = await getJobBuild(pool, job.id, name);
      if (build === null) throw jobBuildNotFound(ref, name);
      // A rerun is a manual build too: a job that forbids those forbids reruns.
      if (jobModel(job).disableManualTrigger === true) throw manualTriggerDisabled(ref);
      const rerun = await translating(
        { CC_E_SCHEDULER_BUILD_NOT_FOUND: () => jobBuildNotFound(ref, name) },
        () => rerunBuild(pool, build.id, { createdBy: by }),
      );
      return presentBuild(rerun);
    },
  };
}
