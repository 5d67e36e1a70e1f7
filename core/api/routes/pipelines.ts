import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../generated/pipeline.generated.js';
import type { PipelineConfigResponse } from '../generated/pipeline-config.generated.js';
import type { PipelineList } from '../generated/pipeline-list.generated.js';
import type { PipelineParams } from '../generated/pipeline-params.generated.js';
import type { SetPipelineConfigRequest } from '../generated/set-pipeline-config-request.generated.js';
import type { SetPipelineConfigResponse } from '../generated/set-pipeline-config-response.generated.js';
import type { TeamParams } from '../generated/team-params.generated.js';
import { refs } from '../schemas.js';
import type { SetPipelineConfigInput } from '../services.js';
import type { ApiDeps } from '../types.js';
import { actor } from './actor.js';

const tags = ['pipelines'];

/** Pipelines and their configs, at Concourse's paths (atc/routes.go). */
export async function pipelineRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { pipelines } = deps;

  app.get<{ Reply: PipelineList }>(
    '/pipelines',
    {
      schema: {
        operationId: 'listAllPipelines',
        summary: 'List the pipelines of every team',
        tags,
        response: { 200: refs.pipelineList },
      },
    },
    async () => pipelines.list(),
  );

  app.get<{ Params: TeamParams; Reply: PipelineList }>(
    '/teams/:team/pipelines',
    {
      schema: {
        operationId: 'listPipelines',
        summary: 'List the pipelines of a team',
        tags,
        params: refs.teamParams,
        response: { 200: refs.pipelineList },
      },
    },
    async (request) => pipelines.list(request.params.team),
  );

  app.get<{ Params: PipelineParams; Reply: Pipeline }>(
    '/teams/:team/pipelines/:pipeline',
    {
      schema: {
        operationId: 'getPipeline',
        summary: 'Get a pipeline',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.pipeline },
      },
    },
    async (request) => pipelines.get(request.params),
  );

  app.get<{ Params: PipelineParams; Reply: PipelineConfigResponse }>(
    '/teams/:team/pipelines/:pipeline/config',
    {
      schema: {
        operationId: 'getPipelineConfig',
        summary: 'Get the config of a pipeline as it was last set',
        description:
          'The YAML text as it was set, and its version, to send back as `expected_version` when setting it again.',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.pipelineConfig },
      },
    },
    async (request) => pipelines.getConfig(request.params),
  );

  app.put<{ Params: PipelineParams; Body: SetPipelineConfigRequest; Reply: SetPipelineConfigResponse }>(
    '/teams/:team/pipelines/:pipeline/config',
    {
      schema: {
        operationId: 'setPipelineConfig',
        summary: 'Set the config of a pipeline, creating the pipeline if need be',
        description:
          'Validates the config and stores it: 201 when it created the pipeline, 200 when it updated one. An invalid config answers 400 with `details.problems`, each with its path, line and column in the YAML text; so does, with `check_creds`, a config whose `((vars))` cannot all be resolved now (CC_E_PIPELINE_CREDS_MISSING); a config that changed since `expected_version` answers 409.',
        tags,
        params: refs.pipelineParams,
        body: refs.setPipelineConfigRequest,
        response: {
          200: {
            ...refs.setPipelineConfigResponse,
            description: 'The pipeline existed and now has this config.',
          },
          201: {
            ...refs.setPipelineConfigResponse,
            description: 'The pipeline was created with this config.',
          },
          400: {
            ...refs.pipelineConfigError,
            description:
              'The request or the config is invalid, or (with `check_creds`) uses vars that cannot be resolved; `details.problems` lists what is wrong where.',
          },
        },
      },
    },
    async (request, reply) => {
      const { config, vars, expected_version: expectedVersion, check_creds: checkCreds } = request.body;
      const input: SetPipelineConfigInput = { config, by: actor(request) };
      if (vars !== undefined) input.vars = vars;
      if (checkCreds) input.checkCreds = true;
      if (expectedVersion !== undefined) input.expectedVersion = expectedVersion;
      const result = await pipelines.setConfig(request.params, input);
      return reply.status(result.created ? 201 : 200).send(result);
    },
  );

  app.put<{ Params: PipelineParams; Reply: Pipeline }>(
    '/teams/:team/pipelines/:pipeline/pause',
    {
      schema: {
        operationId: 'pausePipeline',
        summary: 'Pause a pipeline: no checks, no new builds',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.pipeline },
      },
    },
    async (request) => pipelines.pause(request.params, actor(request)),
  );

  app.put<{ Params: PipelineParams; Reply: Pipeline }>(
    '/teams/:team/pipelines/:pipeline/unpause',
    {
      schema: {
        operationId: 'unpausePipeline',
        summary: 'Unpause a pipeline',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.pipeline },
      },
    },
    async (request) => pipelines.unpause(request.params),
  );

  app.delete<{ Params: PipelineParams }>(
    '/teams/:team/pipelines/:pipeline',
    {
      schema: {
        operationId: 'deletePipeline',
        summary: 'Delete a pipeline with its jobs, builds and resource versions',
        tags,
        params: refs.pipelineParams,
        response: { 204: { type: 'null', description: 'The pipeline is gone.' } },
      },
    },
    async (request, reply) => {
      await pipelines.delete(request.params);
      return reply.status(204).send();
    },
  );
}
