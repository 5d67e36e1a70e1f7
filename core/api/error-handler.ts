import type { FastifyInstance } from 'fastify';
import { ConveyorError, type ErrorCode, isConveyorError } from '../errors/index.js';
import type { ErrorResponse } from './generated/error.generated.js';

/** What the error handler answers with, and whether the failure is the server's (logged as error). */
export interface ErrorReply {
  status: number;
  body: ErrorResponse;
}

interface ValidationProblem {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The fields of fastify's own errors this module reads; anything thrown is narrowed to it. */
interface FastifyErrorFields {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/**
 * Maps anything a route, hook or fastify itself throws to the one error shape of the API:
 * 1. a ConveyorError keeps its code, status, message and details;
 * 2. a fastify validation error is a 400 naming the failing field;
 * 3. fastify's other client errors (bad JSON, body too large, wrong media type) keep their meaning;
 * 4. anything else is a 500 whose message leaks nothing: the cause goes to the log only.
 */
export function toErrorReply(error: unknown, requestId: string): ErrorReply {
  if (isConveyorError(error)) return conveyorReply(error);
  const fields: FastifyErrorFields = typeof error === 'object' && error !== null ? error : {};
  if (Array.isArray(fields.validation)) {
    return conveyorReply(validationError(fields.validation, fields.validationContext));
  }
  const status = typeof fields.statusCode === 'number' ? fields.statusCode : 500;
  if (status >= 400 && status < 500) return conveyorReply(clientError(fields.code));
  return conveyorReply(
    new ConveyorError(
      'CC_E_INTERNAL',
      `internal error while serving request ${requestId}; the server log has the cause under this request id`,
    ),
  );
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toErrorReply(error, request.id);
    if (status >= 500) request.log.error({ err: error, code: body.code }, 'request failed');
    else request.log.info({ code: body.code, details: body.details }, body.message);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request) => {
    // The path only: a query string is the client's business and may carry things not meant for echoing.
    const path = request.url.split('?', 1)[0];
    throw new ConveyorError(
      'CC_E_API_NOT_FOUND',
      `no route ${request.method} ${path}; see /api/v1/openapi.json for the routes`,
    );
  });
}

function conveyorReply(error: ConveyorError): ErrorReply {
  const body: ErrorResponse = { code: error.code, message: error.message };
  if (Object.keys(error.details).length > 0) body.details = error.details;
  return { status: error.status, body };
}

function validationError(validation: unknown[], context: unknown): ConveyorError {
  const where = typeof context === 'string' ? context : 'request';
  const problems = validation.map((problem) => {
    const p: ValidationProblem = typeof problem === 'object' && problem !== null ? problem : {};
    // Ajv says "must NOT have additional properties" of the parent; name the field itself instead.
    const message = p.keyword === 'additionalProperties' ? 'is not a known field' : p.message;
    return { field: fieldOf(where, p), message: message ?? 'is invalid' };
  });
  const first = problems[0] ?? { field: where, message: 'is invalid' };
  return new ConveyorError('CC_E_API_BAD_REQUEST', `invalid request: ${first.field} ${first.message}`, {
    details: { field: first.field, problems },
  });
}

/** `body.source.uri` from Ajv's `/source` plus a missing (or unknown) property `uri`. */
function fieldOf(context: string, problem: ValidationProblem): string {
  const segments = (problem.instancePath ?? '').split('/').filter((s) => s !== '');
  const named = problem.params?.missingProperty ?? problem.params?.additionalProperty;
  if (typeof named === 'string') segments.push(named);
  return [context, ...segments].join('.');
}

// fastify's client-error codes (lib/errors.js) that deserve their own message.
const clientErrors: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'CC_E_API_PAYLOAD_TOO_LARGE',
    message: 'request body too large: send a smaller body',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'CC_E_API_UNSUPPORTED_MEDIA_TYPE',
    message: 'unsupported Content-Type: send `Content-Type: application/json`',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'CC_E_API_BAD_REQUEST',
    message: 'invalid request: the body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'CC_E_API_BAD_REQUEST',
    message:
      'invalid request: `Content-Type: application/json` with an empty body; send a JSON body or no Content-Type',
  },
};

function clientError(code: unknown): ConveyorError {
  const known = typeof code === 'string' ? clientErrors[code] : undefined;
  if (known !== undefined) return new ConveyorError(known.code, known.message);
  return new ConveyorError('CC_E_API_BAD_REQUEST', 'bad request: the server could not read the request');
}
