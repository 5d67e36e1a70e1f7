/**
 * @conveyor/registry-mirror: Conveyor's OCI Distribution server for plugins, and a pull-through
 * mirror of an upstream registry. This first cut answers the Distribution API's version check
 * (`GET /v2/`), which is how clients tell they are talking to a registry; blobs, manifests, tags,
 * referrers and mirror mode follow in the plugin-distribution issue.
 */
import Fastify, { type FastifyInstance } from 'fastify';

export interface RegistryOptions {
  logger?: boolean;
}

export async function buildRegistry(options: RegistryOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });
  app.get('/v2/', async (_request, reply) => {
    reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    return {};
  });
  await app.ready();
  return app;
}
