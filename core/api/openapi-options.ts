import type { SwaggerOptions } from '@fastify/swagger';

/**
 * The version of the HTTP API document, not of the server: it changes when routes or schemas do.
 * Additive changes bump the minor; breaking ones get a new `/api/v2` prefix.
 */
export const API_VERSION = '1.0.0';

/** The security scheme every route not marked public requires. */
export const bearerScheme = 'bearerAuth';

export const swaggerOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor API',
      version: API_VERSION,
      description:
        'The HTTP API of a Conveyor server. Every route requires `Authorization: Bearer <token>` unless its `security` is empty. Errors answer with `{ code, message, details? }`, where `code` is a stable `CC_E_*` code.',
    },
    components: {
      securitySchemes: {
        [bearerScheme]: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A Conveyor API token; `cc up` prints the admin token on the first start of a data directory.',
        },
      },
    },
    security: [{ [bearerScheme]: [] }],
  },
  refResolver: {
    // Components are named by the schemas' titles (PluginSummary), not by their $id URLs, so
    // generated clients get readable type names.
    buildLocalReference: (json, _baseUri, _fragment, i) =>
      typeof json.title === 'string' ? json.title : `def-${i}`,
  },
};
