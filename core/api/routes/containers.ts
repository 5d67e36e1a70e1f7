import type { FastifyInstance } from 'fastify';
import type { ContainerList } from '../generated/container-list.generated.js';
import type { ContainersQuery } from '../generated/containers-query.generated.js';
import type { TeamParams } from '../generated/team-params.generated.js';
import type { VolumeList } from '../generated/volume-list.generated.js';
import { refs } from '../schemas.js';
import type { ContainerFilter } from '../services.js';
import type { ApiDeps } from '../types.js';

/** The query's filters, without the fields it left out. */
function containerFilter(query: ContainersQuery): ContainerFilter {
  const filter: ContainerFilter = {};
  if (query.pipeline !== undefined) filter.pipeline = query.pipeline;
  if (query.job !== undefined) filter.job = query.job;
  if (query.build !== undefined) filter.build = query.build;
  if (query.build_id !== undefined) filter.buildId = query.build_id;
  if (query.step !== undefined) filter.step = query.step;
  if (query.type !== undefined) filter.type = query.type;
  return filter;
}

const filtersDoc =
  'Filter by `pipeline`, `job` (with `pipeline`), `build` (a build name, with `job`), `build_id`, `step` (a name or plan id) and `type`, as `fly containers` and `fly volumes` show them.';

/** The containers and volumes of a team's builds, like Concourse's `GET /teams/:team/containers`. */
export async function containerRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  app.get<{ Params: TeamParams; Querystring: ContainersQuery; Reply: ContainerList }>(
    '/teams/:team/containers',
    {
      schema: {
        operationId: 'listContainers',
        summary: "List the containers of a team's builds",
        description: `Oldest first. ${filtersDoc}`,
        tags: ['containers'],
        params: refs.teamParams,
        querystring: refs.containersQuery,
        response: { 200: refs.containerList },
      },
    },
    async (request) => deps.containers.list(request.params.team, containerFilter(request.query)),
  );

  app.get<{ Params: TeamParams; Querystring: ContainersQuery; Reply: VolumeList }>(
    '/teams/:team/volumes',
    {
      schema: {
        operationId: 'listVolumes',
        summary: "List the volumes of a team's builds",
        description: `Oldest first. ${filtersDoc} A volume's \`type\` is its role for the step (\`input\`, \`output\`, \`cache\`).`,
        tags: ['volumes'],
        params: refs.teamParams,
        querystring: refs.containersQuery,
        response: { 200: refs.volumeList },
      },
    },
    async (request) => deps.volumes.list(request.params.team, containerFilter(request.query)),
  );
}
