import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../types.js';
import { pluginRoutes } from './plugins.js';
import { serverRoutes } from './server.js';

/** Every route of /api/v1; register with `{ prefix: '/api/v1', deps }`. */
export async function apiV1Routes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  await app.register(serverRoutes, { deps });
  await app.register(pluginRoutes, { deps });
}
