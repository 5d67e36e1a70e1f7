import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { ConveyorError } from '../errors/index.js';
import { registerAuth } from './auth.js';
import { registerErrorHandler } from './error-handler.js';
import { loggerOptions } from './logging.js';
import { swaggerOptions } from './openapi-options.js';
import { registerRouteDocs } from './route-docs.js';
import { apiV1Routes } from './routes/index.js';
import { addSharedSchemas, sharedSchemas } from './schemas.js';
import { type ApiDeps, type ApiOptions, type FilledApiOptions, kDefaultApiOptions } from './types.js';
import { registerValidators } from './validators.js';

export const API_PREFIX = '/api/v1';

// A client-chosen request id is kept (so a proxy's id follows the request into our logs) only if
// it is short and plain, so it cannot forge log lines or headers.
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIdHeader = 'x-request-id';
/** A client frame carries stdin typed or pasted into a terminal: small. */
const kMaxWebSocketFrameBytes = 1024 * 1024;

/**
 * Builds the HTTP API: routes, token auth, one error handler, the OpenAPI document, structured
 * logs. The instance is not yet listening nor ready, so the composition root may add routes
 * (they are protected by default) before `listen()`; tests use `inject()`.
 */
export async function buildApi(deps: ApiDeps, options: ApiOptions = {}): Promise<FastifyInstance> {
  const filled = fillOptions(options);
  const app = Fastify({
    logger: loggerOptions(options.logger),
    genReqId: (request) => {
      const given = request.headers[requestIdHeader];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
  });

  // 1. Schemas and the route-doc hook first: swagger and every route below depend on them.
  addSharedSchemas(app);
  registerValidators(app, sharedSchemas);
  registerRouteDocs(app);
  await app.register(swagger, swaggerOptions);

  // 2. Cross-cutting behaviour, at the root so it covers routes registered later too.
  app.addHook('onRequest', async (request, reply) => {
    reply.header(requestIdHeader, request.id);
  });
  // Upgrade requests go through the router and every hook (auth included) before a route accepts
  // them; a refused one is answered with a plain HTTP error. Registered before auth: its own hook
  // must mark an upgrade request first, or the socket of a refused one would never be closed.
  await app.register(websocket, { options: { maxPayload: kMaxWebSocketFrameBytes } });
  registerAuth(app, deps.verifyToken);
  registerErrorHandler(app);

  // 3. Routes.
  await app.register(apiV1Routes, { prefix: API_PREFIX, deps, options: filled });
  return app;
}

function fillOptions(options: ApiOptions): FilledApiOptions {
  const filled: FilledApiOptions = {
    maxUploadBytes: options.maxUploadBytes ?? kDefaultApiOptions.maxUploadBytes,
    sseHeartbeatMs: options.sseHeartbeatMs ?? kDefaultApiOptions.sseHeartbeatMs,
  };
  for (const [name, value] of Object.entries(filled)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ConveyorError('CC_E_API_INVALID_OPTIONS', `options.${name} must be a positive integer`, {
        details: { option: name },
      });
    }
  }
  return filled;
}
