import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import type { ApiOptions } from './types.js';

/**
 * Header paths pino censors in every log line. Redaction is not optional: a bearer token in a log
 * file is a credential anyone with the logs can use.
 */
const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
];

/** fastify's logger option for the API: off, or pino with fixed redaction and serializers. */
export function loggerOptions(logger: ApiOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const { level = 'info', stream } = logger === true ? {} : logger;
  return {
    level,
    ...(stream === undefined ? {} : { stream }),
    redact: { paths: redactedPaths, censor: '[redacted]' },
    serializers: {
      // fastify's default request serializer plus the headers (user agent, forwarded-for), which
      // is why the redaction above matters.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url,
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
        headers: request.headers,
      }),
    },
  };
}
