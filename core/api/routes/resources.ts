import type { FastifyInstance } from 'fastify';
import type { CheckRequest } from '../generated/check-request.generated.js';
import type { CheckResponse } from '../generated/check-response.generated.js';
import type { PageQuery } from '../generated/page-query.generated.js';
import type { PipelineParams } from '../generated/pipeline-params.generated.js';
import type { Resource } from '../generated/resource.generated.js';
import type { ResourceList } from '../generated/resource-list.generated.js';
import type { ResourceParams } from '../generated/resource-params.generated.js';
import type { ResourceVersion } from '../generated/resource-version.generated.js';
import type { ResourceVersionList } from '../generated/resource-version-list.generated.js';
import type { ResourceVersionParams } from '../generated/resource-version-params.generated.js';
import { pageRequest, setPageLinks } from '../pagination.js';
import { refs } from '../schemas.js';
import type { CheckInput, ResourceRef } from '../services.js';
import type { ApiDeps } from '../types.js';
import { actor, clientGone } from './actor.js';

const tags = ['resources'];
const resourcePath = '/teams/:team/pipelines/:pipeline/resources/:resource';

/** The resource part of the path only: version routes carry `version_id` besides. */
function resourceRef(params: ResourceParams): ResourceRef {
  return { team: params.team, pipeline: params.pipeline, resource: params.resource };
}

/** Resources, their versions, checks and pins, at Concourse's paths (atc/routes.go). */
export async function resourceRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { resources } = deps;

  app.get<{ Params: PipelineParams; Reply: ResourceList }>(
    '/teams/:team/pipelines/:pipeline/resources',
    {
      schema: {
        operationId: 'listResources',
        summary: 'List the resources of a pipeline',
        tags,
        params: refs.pipelineParams,
        response: { 200: refs.resourceList },
      },
    },
    async (request) => resources.list(request.params),
  );

  app.get<{ Params: ResourceParams; Reply: Resource }>(
    resourcePath,
    {
      schema: {
        operationId: 'getResource',
        summary: 'Get a resource',
        tags,
        params: refs.resourceParams,
        response: { 200: refs.resource },
      },
    },
    async (request) => resources.get(resourceRef(request.params)),
  );

  app.get<{ Params: ResourceParams; Querystring: PageQuery; Reply: ResourceVersionList }>(
    `${resourcePath}/versions`,
    {
      schema: {
        operationId: 'listResourceVersions',
        summary: 'List the versions of a resource, newest first, a page at a time',
        description:
          'Versions come in the order checks found them. The `Link` header names the next (older) and previous (newer) pages; `before` and `since` take version ids.',
        tags,
        params: refs.resourceParams,
        querystring: refs.pageQuery,
        response: { 200: refs.resourceVersionList },
      },
    },
    async (request, reply) => {
      const page = pageRequest(request.query);
      const result = await resources.listVersions(resourceRef(request.params), page);
      setPageLinks(request, reply, result, page.limit);
      return result.items;
    },
  );

  app.post<{ Params: ResourceParams; Body: CheckRequest; Reply: CheckResponse }>(
    `${resourcePath}/check`,
    {
      // A check needs no options, so an empty body (or none at all) means `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        operationId: 'checkResource',
        summary: 'Check a resource for new versions now, and wait for the outcome',
        description:
          'Runs a check (from `from` if given, else from the latest known version) and answers once it finished: 200 with the versions it reported, or `CC_E_API_CHECK_FAILED` with the check’s own error message.',
        tags,
        params: refs.resourceParams,
        body: refs.checkRequest,
        response: { 200: refs.checkResponse },
      },
    },
    async (request, reply) => {
      const input: CheckInput = { signal: clientGone(reply) };
      if (request.body.from !== undefined) input.from = request.body.from;
      return resources.check(resourceRef(request.params), input);
    },
  );

  app.put<{ Params: ResourceVersionParams; Reply: Resource }>(
    `${resourcePath}/versions/:version_id/pin`,
    {
      schema: {
        operationId: 'pinResourceVersion',
        summary: 'Pin a resource to one of its versions',
        description: 'While pinned, every job uses that version of the resource. Answers with the resource.',
        tags,
        params: refs.resourceVersionParams,
        response: { 200: refs.resource },
      },
    },
    async (request) => resources.pin(resourceRef(request.params), request.params.version_id, actor(request)),
  );

  app.put<{ Params: ResourceParams; Reply: Resource }>(
    `${resourcePath}/unpin`,
    {
      schema: {
        operationId: 'unpinResource',
        summary: 'Unpin a resource pinned through the API',
        tags,
        params: refs.resourceParams,
        response: { 200: refs.resource },
      },
    },
    async (request) => resources.unpin(resourceRef(request.params)),
  );

  app.put<{ Params: ResourceVersionParams; Reply: ResourceVersion }>(
    `${resourcePath}/versions/:version_id/enable`,
    {
      schema: {
        operationId: 'enableResourceVersion',
        summary: 'Enable a version of a resource, so jobs may use it again',
        tags,
        params: refs.resourceVersionParams,
        response: { 200: refs.resourceVersion },
      },
    },
    async (request) => resources.enableVersion(resourceRef(request.params), request.params.version_id),
  );

  app.put<{ Params: ResourceVersionParams; Reply: ResourceVersion }>(
    `${resourcePath}/versions/:version_id/disable`,
    {
      schema: {
        operationId: 'disableResourceVersion',
        summary: 'Disable a version of a resource, so no job uses it',
        tags,
        params: refs.resourceVersionParams,
        response: { 200: refs.resourceVersion },
      },
    },
    async (request) => resources.disableVersion(resourceRef(request.params), request.params.version_id),
  );
}
