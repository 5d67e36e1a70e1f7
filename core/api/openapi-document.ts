import { buildApi } from './build-api.js';
import type { ApiDeps } from './types.js';

/**
 * A service whose every method rejects. The document never calls one; the proxy spares listing
 * each method of each service just to say so.
 */
function inertService<T extends object>(): T {
  const reject = async () => {
    throw new Error('the OpenAPI document builder serves no data');
  };
  return new Proxy({}, { get: () => reject }) as T;
}

/** Deps that answer nothing: the document depends on the routes and schemas only, never on data. */
const inertDeps: ApiDeps = {
  verifyToken: async () => null,
  listPlugins: async () => [],
  info: { version: '0.0.0', pluginApiVersion: '0.0.0' },
  pipelines: inertService(),
  jobs: inertService(),
  builds: inertService(),
  oneOffBuilds: inertService(),
  resources: inertService(),
  containers: inertService(),
  volumes: inertService(),
  intercept: inertService(),
};

/**
 * The API's OpenAPI 3 document, as the server serves it at /api/v1/openapi.json. It is generated
 * from the route schemas; scripts/gen-openapi.mjs writes it to core/api/openapi.json.
 */
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const app = await buildApi(inertDeps);
  try {
    await app.ready();
    // A deep copy through JSON: exactly what a client receives, and detached from the instance.
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
