import type { FastifyInstance } from 'fastify';
import type { HealthResponse } from '../generated/health.generated.js';
import type { InfoResponse } from '../generated/info.generated.js';
import { refs } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/** Routes about the server itself; all public, so probes and `cc` can ask before logging in. */
export async function serverRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  app.get<{ Reply: InfoResponse }>(
    '/info',
    {
      config: { public: true },
      schema: {
        operationId: 'getInfo',
        summary: 'Server version and plugin API version',
        tags: ['server'],
        response: { 200: refs.info },
      },
    },
    async () => ({ version: deps.info.version, pluginApiVersion: deps.info.pluginApiVersion }),
  );

  app.get<{ Reply: HealthResponse }>(
    '/health',
    {
      config: { public: true },
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness probe',
        tags: ['server'],
        response: { 200: refs.health },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/openapi.json',
    // Hidden from the document it serves: it is the document.
    { config: { public: true }, schema: { hide: true } },
    async () => app.swagger(),
  );
}
