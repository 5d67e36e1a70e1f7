/** @conveyor/core/api: the HTTP API server (fastify), without a socket; core/server listens. */

export { API_PREFIX, buildApi } from './build-api.js';
export { type ErrorReply, toErrorReply } from './error-handler.js';
export type { ErrorResponse } from './generated/error.generated.js';
export type { HealthResponse } from './generated/health.generated.js';
export type { InfoResponse } from './generated/info.generated.js';
export type { PluginListResponse } from './generated/plugin-list.generated.js';
export type { PluginSummary } from './generated/plugin-summary.generated.js';
export { buildOpenApiDocument } from './openapi-document.js';
export { API_VERSION } from './openapi-options.js';
export type { ApiDeps, ApiLoggerOptions, ApiOptions, Principal } from './types.js';
