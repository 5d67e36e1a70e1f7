/**
 * @conveyor/registry-mirror: Conveyor's OCI Distribution server (spec v1.1: blobs, chunked and
 * monolithic uploads, cross-repository mounts, manifests by tag and digest, tags, catalog,
 * referrers), with token auth, content-addressed storage on disk, garbage collection of what no
 * manifest references, and a mirror mode that makes it a pull-through cache of an upstream
 * registry. It stands alone: it imports nothing of Conveyor's.
 *
 *   const registry = await startRegistryMirror({ root: '/var/lib/conveyor-registry', port: 5000 });
 *   // … registry.url …
 *   await registry.close();
 */
import type { FastifyInstance } from 'fastify';
import type { RegistryMirrorOptions } from './config.js';
import type { GcOptions, GcReport } from './gc.js';
import { buildRegistry, collectRegistryGarbage } from './server.js';

export type {
  AccessOption,
  Action,
  AuthOptions,
  GcScheduleOptions,
  RegistryMirrorOptions,
  TokenOption,
  UpstreamOptions,
} from './config.js';
export {
  CONFIG_ERRORS,
  type ConfigErrorCode,
  OCI_ERRORS,
  type OciErrorCode,
  RegistryConfigError,
  RegistryError,
} from './errors.js';
export { collectGarbage, GC_DEFAULTS, type GcOptions, type GcReport } from './gc.js';
export { MEDIA_TYPES } from './manifests.js';
export { buildRegistry, collectRegistryGarbage };

export interface RunningRegistry {
  /** `http://<host>:<port>`, with the port actually bound (when 0 was asked for). */
  readonly url: string;
  /** `<host>:<port>`: the host part of image references. */
  readonly host: string;
  /** The fastify app, for `inject()` or hooks. */
  readonly app: FastifyInstance;
  /**
   * Collect garbage now, under the server's lock (safe beside pushes whatever the grace period).
   * The grace period defaults to options.gc.graceSeconds, the upload age to uploadExpirySeconds.
   */
  collectGarbage(options?: GcOptions): Promise<GcReport>;
  /** Stop listening and let requests in flight finish. */
  close(): Promise<void>;
}

/** Start the registry on `options.host:options.port`; rejects with a RegistryConfigError on bad options. */
export async function startRegistryMirror(options: RegistryMirrorOptions): Promise<RunningRegistry> {
  const app = await buildRegistry(options);
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 5000 });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) {
    await app.close();
    throw new Error('the registry is listening on no TCP address');
  }
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const host = `${hostPart}:${address.port}`;
  return {
    url: `http://${host}`,
    host,
    app,
    collectGarbage: (gc) => collectRegistryGarbage(app, gc),
    async close() {
      // Node closes the keep-alive connections idle when close() is called; one whose response is
      // still being written then goes idle just after, and would hold close() for fastify's
      // keepAliveTimeout (72 s). Close those as they go idle.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(idle);
      }
    },
  };
}
