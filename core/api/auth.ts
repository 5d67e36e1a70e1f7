import type { FastifyInstance, FastifyReply } from 'fastify';
import { ConveyorError } from '../errors/index.js';
import type { ApiDeps } from './types.js';

// RFC 6750: the scheme is case-insensitive; the token is one run of non-space characters.
const bearerPattern = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The bearer token of an Authorization header, or null if there is none. */
function bearerToken(header: string | undefined): string | null {
  const match = header === undefined ? null : bearerPattern.exec(header);
  return match?.[1] ?? null;
}

/**
 * Requires a valid bearer token on every route not marked `config: { public: true }`. It is a
 * root hook, so a route added later by anyone is protected unless it says otherwise. Unknown paths
 * answer 404 either way: the OpenAPI document is public, so a route's existence is no secret.
 */
export function registerAuth(app: FastifyInstance, verifyToken: ApiDeps['verifyToken']): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || request.routeOptions.config.public === true) return;
    const token = bearerToken(request.headers.authorization);
    if (token === null) {
      throw unauthorized(
        reply,
        'missing bearer token: send `Authorization: Bearer <token>` (the CLI sends the token `cc login` saved)',
      );
    }
    const principal = await verifyToken(token);
    if (principal === null) {
      // Never echo the token: it may be a real secret sent to the wrong server.
      throw unauthorized(
        reply,
        'invalid bearer token: it is unknown, expired or revoked; log in again with `cc login --url URL --token TOKEN`',
        'invalid_token',
      );
    }
    request.principal = principal;
  });
}

function unauthorized(reply: FastifyReply, message: string, error?: string): ConveyorError {
  // The header survives into the error handler's reply: fastify keeps headers set before the throw.
  reply.header(
    'www-authenticate',
    `Bearer realm="conveyor"${error === undefined ? '' : `, error="${error}"`}`,
  );
  return new ConveyorError('CC_E_API_UNAUTHORIZED', message);
}
