import type { FastifyInstance } from 'fastify';
import type { PluginListResponse } from '../generated/plugin-list.generated.js';
import { refs } from '../schemas.js';
import type { ApiDeps } from '../types.js';

export async function pluginRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  app.get<{ Reply: PluginListResponse }>(
    '/plugins',
    {
      schema: {
        operationId: 'listPlugins',
        summary: 'List the plugins the server knows',
        description:
          'Every plugin the plugin host found: built in, installed into the plugin store, or linked.',
        tags: ['plugins'],
        response: { 200: refs.pluginList },
      },
    },
    async () => ({ plugins: await deps.listPlugins() }),
  );
}
