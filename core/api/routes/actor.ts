import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConveyorError } from '../../errors/index.js';

/** The name of who makes the request, for `paused_by` and `created_by`. */
export function actor(request: FastifyRequest): string {
  // The auth hook sets the principal on every route not marked public; these routes are not.
  if (request.principal === null) {
    throw new ConveyorError('CC_E_API_UNAUTHORIZED', 'this route needs a bearer token');
  }
  return request.principal.name;
}

/**
 * An AbortSignal that fires when the client goes away before its reply is complete, for services
 * that wait (a check) or stream (uploads, downloads). A response that closes once it has been
 * sent is no abort.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
