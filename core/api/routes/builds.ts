import type { FastifyInstance } from 'fastify';
import type { Build } from '../generated/build.generated.js';
import type { BuildList } from '../generated/build-list.generated.js';
import type { BuildParams } from '../generated/build-params.generated.js';
import type { PageQuery } from '../generated/page-query.generated.js';
import { pageRequest, setPageLinks } from '../pagination.js';
import { refs } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { actor } from './actor.js';

const tags = ['builds'];

/** Builds by id, at Concourse's paths (atc/routes.go); events and one-off builds have their own modules. */
export async function buildRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  const { builds } = deps;

  app.get<{ Querystring: PageQuery; Reply: BuildList }>(
    '/builds',
    {
      schema: {
        operationId: 'listBuilds',
        summary: 'List the builds of every team, newest first, a page at a time',
        description:
          'The `Link` header names the next (older) and previous (newer) pages; follow it rather than building page URLs.',
        tags,
        querystring: refs.pageQuery,
        response: { 200: refs.buildList },
      },
    },
    async (request, reply) => {
      const page = pageRequest(request.query);
      const result = await builds.list(page);
      setPageLinks(request, reply, result, page.limit);
      return result.items;
    },
  );

  app.get<{ Params: BuildParams; Reply: Build }>(
    '/builds/:id',
    {
      schema: {
        operationId: 'getBuild',
        summary: 'Get a build by id',
        tags,
        params: refs.buildParams,
        response: { 200: refs.build },
      },
    },
    async (request) => builds.get(request.params.id),
  );

  app.put<{ Params: BuildParams; Reply: Build }>(
    '/builds/:id/abort',
    {
      schema: {
        operationId: 'abortBuild',
        summary: 'Abort a pending or running build',
        description: 'Answers with the build; a build that already finished is left as it is.',
        tags,
        params: refs.buildParams,
        response: { 200: refs.build },
      },
    },
    async (request) => builds.abort(request.params.id, actor(request)),
  );
}
