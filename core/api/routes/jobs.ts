import type { FastifyInstance } from 'fastify';
import type { Build } from '../generated/build.generated.js';
import type { BuildList } from '../generated/build-list.generated.js';
import type { Job } from '../generated/job.generated.js';
import type { JobBuildParams } from '../generated/job-build-params.generated.js';
import type { JobList } from '../generated/job-list.generated.js';
import type { JobParams } from '../generated/job-params.generated.js';
import type { PageQuery } from '../generated/page-query.generated.js';
import type { PipelineParams } from '../generated/pipeline-params.generated.js';
import { pageRequest, setPageLinks } from '../pagination.js';
import { refs } from '../schemas.js';
import type { JobRef } from '../services.js';
import type { ApiDeps } from '../types.js';
import { actor } from './actor.js';

const tags = ['jobs'];
const jobPath = '/teams/:team/pipelines/:pipeline/jobs/:job';

/** The job part of the path only: build routes carry `build_name` besides. */
function jobRef(params: JobParams): JobRef {
  return { team: params.team, pipeline: params.pipeline, job: params.job };
}

/** Jobs, their builds, triggers and reruns, at Concourse's paths (atc/routes.go). */
export async function jobRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { jobs } = deps;

  app.get<{ Params: PipelineParams; Reply: JobList }>(
    '/teams/:team/pipelines/:pipeline/jobs',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'List the jobs of a pipeline with their next and latest finished builds',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.jobList },
      },
    },
    async (request) => jobs.list(request.params),
  );

  app.get<{ Params: JobParams; Reply: Job }>(
    jobPath,
    {
      schema: {
        operationId: 'getJob',
        summary: 'Get a job',
        tags,
        params: refs.jobParams,
        response: { 200: refs.job },
      },
    },
    async (request) => jobs.get(jobRef(request.params)),
  );

  app.put<{ Params: JobParams; Reply: Job }>(
    `${jobPath}/pause`,
    {
      schema: {
        operationId: 'pauseJob',
        summary: 'Pause a job: the scheduler starts no new builds of it',
        tags,
        params: refs.jobParams,
        response: { 200: refs.job },
      },
    },
    async (request) => jobs.pause(jobRef(request.params), actor(request)),
  );

  app.put<{ Params: JobParams; Reply: Job }>(
    `${jobPath}/unpause`,
    {
      schema: {
        operationId: 'unpauseJob',
        summary: 'Unpause a job',
        tags,
        params: refs.jobParams,
        response: { 200: refs.job },
      },
    },
    async (request) => jobs.unpause(jobRef(request.params)),
  );

  app.post<{ Params: JobParams; Reply: Build }>(
    `${jobPath}/builds`,
    {
      schema: {
        operationId: 'triggerJob',
        summary: 'Trigger a new build of a job',
        description:
          'Creates a pending build that runs with the latest input versions the scheduler resolves. A job with `disable_manual_trigger` answers 409.',
        tags,
        params: refs.jobParams,
        response: { 201: { ...refs.build, description: 'The new build.' } },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await jobs.trigger(jobRef(request.params), actor(request))),
  );

  app.get<{ Params: JobParams; Querystring: PageQuery; Reply: BuildList }>(
    `${jobPath}/builds`,
    {
      schema: {
        operationId: 'listJobBuilds',
        summary: 'List the builds of a job, newest first, a page at a time',
        description:
          'The `Link` header names the next (older) and previous (newer) pages; follow it rather than building page URLs.',
        tags,
        params: refs.jobParams,
        querystring: refs.pageQuery,
        response: { 200: refs.buildList },
      },
    },
    async (request, reply) => {
      const page = pageRequest(request.query);
      const result = await jobs.listBuilds(jobRef(request.params), page);
      setPageLinks(request, reply, result, page.limit);
      return result.items;
    },
  );

  app.get<{ Params: JobBuildParams; Reply: Build }>(
    `${jobPath}/builds/:build_name`,
    {
      schema: {
        operationId: 'getJobBuild',
        summary: 'Get a build of a job by its name',
        tags,
        params: refs.jobBuildParams,
        response: { 200: refs.build },
      },
    },
    async (request) => jobs.getBuild(jobRef(request.params), request.params.build_name),
  );

  app.post<{ Params: JobBuildParams; Reply: Build }>(
    `${jobPath}/builds/:build_name`,
    {
      schema: {
        operationId: 'rerunJobBuild',
        summary: 'Rerun a build of a job with the same input versions',
        tags,
        params: refs.jobBuildParams,
        response: {
          201: { ...refs.build, description: 'The new build, named after the one it reruns (`3.1`).' },
        },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await jobs.rerun(jobRef(request.params), request.params.build_name, actor(request))),
  );
}
