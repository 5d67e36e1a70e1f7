import type { FastifyInstance } from 'fastify';
import { refs } from './schemas.js';

/**
 * Completes every route's schema from its config, so the OpenAPI document cannot disagree with
 * what the server does: public routes declare no security, every other route declares its 401,
 * and every route declares the error shape of its 4xx and 5xx replies.
 */
export function registerRouteDocs(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema === undefined) return;
    const isPublic = route.config?.public === true;
    route.schema = {
      ...route.schema,
      ...(isPublic ? { security: [] } : {}),
      response: {
        ...(isPublic ? {} : { 401: { ...refs.error, description: 'No bearer token, or an invalid one.' } }),
        // Not `default`: fastify would serialize a route's 200 with it when the route has no 200 schema.
        '4xx': { ...refs.error, description: 'The request was wrong; `code` says how.' },
        '5xx': { ...refs.error, description: 'The server failed; `code` says how.' },
        ...responsesOf(route.schema),
      },
    };
  });
}

function responsesOf(schema: { response?: unknown }): object {
  return typeof schema.response === 'object' && schema.response !== null ? schema.response : {};
}
