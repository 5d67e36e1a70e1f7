import type { FastifyInstance } from 'fastify';
import type { ApiDeps, FilledApiOptions } from '../types.js';
import { buildEventRoutes } from './build-events.js';
import { buildRoutes } from './builds.js';
import { containerRoutes } from './containers.js';
import { interceptRoutes } from './intercept.js';
import { jobRoutes } from './jobs.js';
import { oneOffBuildRoutes } from './one-off-builds.js';
import { pipelineRoutes } from './pipelines.js';
import { pluginRoutes } from './plugins.js';
import { resourceRoutes } from './resources.js';
import { serverRoutes } from './server.js';

/** Every route of /api/v1; register with `{ prefix: '/api/v1', deps, options }`. */
export async function apiV1Routes(
  app: FastifyInstance,
  { deps, options }: { deps: ApiDeps; options: FilledApiOptions },
): Promise<void> {
  await app.register(serverRoutes, { deps });
  await app.register(pluginRoutes, { deps });
  await app.register(pipelineRoutes, { deps });
  await app.register(jobRoutes, { deps });
  await app.register(buildRoutes, { deps });
  await app.register(buildEventRoutes, { deps, options });
  await app.register(oneOffBuildRoutes, { deps, options });
  await app.register(resourceRoutes, { deps });
  await app.register(containerRoutes, { deps });
  await app.register(interceptRoutes, { deps });
}
