import type { PluginSummary } from './generated/plugin-summary.generated.js';
import type {
  BuildService,
  ContainerService,
  InterceptService,
  JobService,
  OneOffBuildService,
  PipelineService,
  ResourceService,
  VolumeService,
} from './services.js';

/** Who a valid token belongs to; routes read it from `request.principal`. */
export interface Principal {
  name: string;
  role: string;
}

/**
 * What the API needs from the rest of the core. The composition root (core/server) passes real
 * implementations (tokens in Postgres, the plugin host); the API never reaches for them itself, so
 * it can be built and tested without either.
 */
export interface ApiDeps {
  /** The principal a bearer token belongs to, or null if the token is unknown, expired or revoked. */
  verifyToken(token: string): Promise<Principal | null>;
  listPlugins(): Promise<PluginSummary[]>;
  info: { version: string; pluginApiVersion: string };
  pipelines: PipelineService;
  jobs: JobService;
  builds: BuildService;
  oneOffBuilds: OneOffBuildService;
  resources: ResourceService;
  containers: ContainerService;
  volumes: VolumeService;
  intercept: InterceptService;
}

/** Where and how much the API logs. Redaction and serializers are fixed: callers cannot turn them off. */
export interface ApiLoggerOptions {
  /** pino level; `info` unless told. */
  level?: string;
  /** Where log lines go; stdout unless told. Tests pass a stream to read what was logged. */
  stream?: { write(line: string): void };
}

// Route config and request fields of the API, typed for every module (and every consumer of
// @conveyor/core/api) that registers routes on its instance.
declare module 'fastify' {
  interface FastifyContextConfig {
    /** A public route answers without a bearer token; every other route requires one. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Who the request's token belongs to; null on public routes. */
    principal: Principal | null;
  }
}

export interface ApiOptions {
  /** `false` (the default) logs nothing, `true` logs at `info` to stdout. */
  logger?: boolean | ApiLoggerOptions;
  /** The largest one-off build input upload, in bytes; 1 GiB unless told. */
  maxUploadBytes?: number;
  /** How often an idle build event stream sends a heartbeat comment, in ms; 15 s unless told. */
  sseHeartbeatMs?: number;
}

/** ApiOptions with every default filled in: what the routes read. */
export interface FilledApiOptions {
  maxUploadBytes: number;
  sseHeartbeatMs: number;
}

export const kDefaultApiOptions: FilledApiOptions = {
  maxUploadBytes: 1024 ** 3,
  // Proxies and load balancers commonly drop a connection idle for 30-60 s.
  sseHeartbeatMs: 15_000,
};
