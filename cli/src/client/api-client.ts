import type { IncomingMessage } from 'node:http';
import createClient, { type Client } from 'openapi-fetch';
import WebSocket from 'ws';
import { CliError } from '../errors/index.js';
import type { ResolvedTarget } from '../targets/index.js';
import { badResponse, type ErrorContext, failedReply, isServerError, unreachable } from './api-errors.js';
import type { components, operations, paths } from './openapi.generated.js';
import { nextCursor, type Page } from './pagination.js';
import { readBody, requestStream } from './stream-request.js';

type Schemas = components['schemas'];
export type InfoResponse = Schemas['InfoResponse'];
export type PluginSummary = Schemas['PluginSummary'];
export type Pipeline = Schemas['Pipeline'];
export type PipelineConfig = Schemas['PipelineConfigResponse'];
export type PipelineConfigProblem = Schemas['PipelineConfigProblem'];
export type SetPipelineConfigRequest = Schemas['SetPipelineConfigRequest'];
export type SetPipelineConfigResponse = Schemas['SetPipelineConfigResponse'];
export type Job = Schemas['Job'];
export type Build = Schemas['Build'];
export type BuildStatus = Build['status'];
export type CreateBuildRequest = Schemas['CreateBuildRequest'];
export type Resource = Schemas['Resource'];
export type ResourceVersion = Schemas['ResourceVersion'];
export type Version = Schemas['Version'];
export type CheckResponse = Schemas['CheckResponse'];
export type Container = Schemas['Container'];
export type Volume = Schemas['Volume'];
export type ContainersQuery = NonNullable<operations['listContainers']['parameters']['query']>;
export type InterceptQuery = NonNullable<operations['interceptBuild']['parameters']['query']>;
export type InterceptMessage = Schemas['InterceptMessage'];

export interface ApiClientOptions {
  /** Per-request time limit; a server that does not answer in time is unreachable. */
  timeoutMs?: number;
}

export interface PipelinePath {
  team: string;
  pipeline: string;
}
export interface JobPath extends PipelinePath {
  job: string;
}
export interface ResourcePath extends PipelinePath {
  resource: string;
}
export interface PageRequest {
  limit?: number;
  before?: number;
}

const defaultTimeoutMs = 30_000;

/** What openapi-fetch resolves with: data on 2xx, the parsed body as `error` otherwise. */
interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The typed client of the Conveyor API. Its types come from the server's OpenAPI document, and it
 * turns every way a call can fail into a CliError whose code a script can branch on; the server's
 * own `CC_E_*` code travels in `details.serverCode`.
 */
export class ApiClient {
  readonly #client: Client<paths>;
  readonly #target: ResolvedTarget;
  readonly #timeoutMs: number;

  constructor(target: ResolvedTarget, options: ApiClientOptions = {}) {
    this.#target = target;
    this.#timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    this.#client = createClient<paths>({
      baseUrl: target.url,
      headers: this.#authHeaders(),
      fetch: (request) => this.#fetch(request),
    });
  }

  get url(): string {
    return this.#target.url;
  }

  /** The saved target's name; null when `--url` alone named the server. */
  get targetName(): string | null {
    return this.#target.name;
  }

  // --- Server ---

  async info(): Promise<InfoResponse> {
    return this.#call(() => this.#client.GET('/api/v1/info', { signal: this.#signal() }));
  }

  async listPlugins(): Promise<PluginSummary[]> {
    const { plugins } = await this.#call(() =>
      this.#client.GET('/api/v1/plugins', { signal: this.#signal() }),
    );
    return plugins;
  }

  // --- Pipelines ---

  /** The team's pipelines, or every team's when `team` is undefined. */
  async listPipelines(team?: string): Promise<Pipeline[]> {
    if (team === undefined) {
      return this.#call(() => this.#client.GET('/api/v1/pipelines', { signal: this.#signal() }));
    }
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines', {
        params: { path: { team } },
        signal: this.#signal(),
      }),
    );
  }

  async getPipeline(path: PipelinePath): Promise<Pipeline> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  /** The config as last set, or null when the pipeline does not exist (yet). */
  async getPipelineConfig(path: PipelinePath): Promise<PipelineConfig | null> {
    try {
      return await this.#call(() =>
        this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/config', {
          params: { path },
          signal: this.#signal(),
        }),
      );
    } catch (error) {
      if (isServerError(error, 'CC_E_API_PIPELINE_NOT_FOUND')) return null;
      throw error;
    }
  }

  async setPipelineConfig(
    path: PipelinePath,
    body: SetPipelineConfigRequest,
  ): Promise<SetPipelineConfigResponse> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/config', {
        params: { path },
        body,
        signal: this.#signal(),
      }),
    );
  }

  async pausePipeline(path: PipelinePath): Promise<Pipeline> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/pause', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async unpausePipeline(path: PipelinePath): Promise<Pipeline> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/unpause', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async deletePipeline(path: PipelinePath): Promise<void> {
    await this.#call(
      () =>
        this.#client.DELETE('/api/v1/teams/{team}/pipelines/{pipeline}', {
          params: { path },
          signal: this.#signal(),
        }),
      { empty: true },
    );
  }

  // --- Jobs ---

  async listJobs(path: PipelinePath): Promise<Job[]> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/jobs', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async getJob(path: JobPath): Promise<Job> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async pauseJob(path: JobPath): Promise<Job> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/pause', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async unpauseJob(path: JobPath): Promise<Job> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/unpause', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async triggerJob(path: JobPath): Promise<Build> {
    return this.#call(() =>
      this.#client.POST('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/builds', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async listJobBuilds(path: JobPath, page: PageRequest = {}): Promise<Page<Build>> {
    return this.#page(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/builds', {
        params: { path, query: page },
        signal: this.#signal(),
      }),
    );
  }

  async getJobBuild(path: JobPath, name: string): Promise<Build> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/builds/{build_name}', {
        params: { path: { ...path, build_name: name } },
        signal: this.#signal(),
      }),
    );
  }

  async rerunJobBuild(path: JobPath, name: string): Promise<Build> {
    return this.#call(() =>
      this.#client.POST('/api/v1/teams/{team}/pipelines/{pipeline}/jobs/{job}/builds/{build_name}', {
        params: { path: { ...path, build_name: name } },
        signal: this.#signal(),
      }),
    );
  }

  // --- Builds ---

  async listBuilds(page: PageRequest = {}): Promise<Page<Build>> {
    return this.#page(() =>
      this.#client.GET('/api/v1/builds', { params: { query: page }, signal: this.#signal() }),
    );
  }

  async getBuild(id: number): Promise<Build> {
    return this.#call(() =>
      this.#client.GET('/api/v1/builds/{id}', { params: { path: { id } }, signal: this.#signal() }),
    );
  }

  async abortBuild(id: number): Promise<Build> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/builds/{id}/abort', { params: { path: { id } }, signal: this.#signal() }),
    );
  }

  /**
   * Opens the build's event stream (Server-Sent Events) and resolves with its body once the server
   * answered 200. No time limit: the stream lasts as long as the build; `signal` ends it.
   */
  async openBuildEvents(
    id: number,
    options: { lastEventId?: string | undefined; signal: AbortSignal },
  ): Promise<AsyncIterable<Uint8Array>> {
    const headers: Record<string, string> = { ...this.#authHeaders(), accept: 'text/event-stream' };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    let response: IncomingMessage;
    try {
      response = await requestStream(
        new URL(`${this.url}/api/v1/builds/${id}/events`),
        headers,
        options.signal,
      );
    } catch (error) {
      if (options.signal.aborted) throw error;
      throw unreachable(this.#context(), error);
    }
    const status = response.statusCode ?? 0;
    if (status === 200) return response;
    const text = await readBody(response).catch(() => '');
    throw failedReply(this.#context(), status, parseJson(text));
  }

  // --- One-off builds (cc execute) ---

  async createBuild(team: string, body: CreateBuildRequest): Promise<Build> {
    return this.#call(() =>
      this.#client.POST('/api/v1/teams/{team}/builds', {
        params: { path: { team } },
        body,
        signal: this.#signal(),
      }),
    );
  }

  /** Streams a tar of one input to a pending one-off build; no time limit, it may be large. */
  async uploadInput(id: number, name: string, tar: ReadableStream<Uint8Array>): Promise<Build> {
    const response = await this.#raw(`/api/v1/builds/${id}/inputs/${encodeURIComponent(name)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
      // A streamed request body needs half duplex in fetch (undici).
      duplex: 'half',
    });
    return this.#json<Build>(response);
  }

  async startBuild(id: number): Promise<Build> {
    return this.#call(() =>
      this.#client.POST('/api/v1/builds/{id}/start', { params: { path: { id } }, signal: this.#signal() }),
    );
  }

  /** A tar stream of one output of a finished one-off build. */
  async downloadOutput(id: number, name: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#raw(`/api/v1/builds/${id}/outputs/${encodeURIComponent(name)}`, {
      method: 'GET',
    });
    if (response.body === null) throw badResponse(this.#context(), `output "${name}" came without a body`);
    return response.body;
  }

  // --- Resources ---

  async listResources(path: PipelinePath): Promise<Resource[]> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/resources', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async listResourceVersions(path: ResourcePath, page: PageRequest = {}): Promise<Page<ResourceVersion>> {
    return this.#page(() =>
      this.#client.GET('/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/versions', {
        params: { path, query: page },
        signal: this.#signal(),
      }),
    );
  }

  /** Runs a check and waits for it: as long as the check takes, so without the usual time limit. */
  async checkResource(path: ResourcePath, from?: Version): Promise<CheckResponse> {
    return this.#call(() =>
      this.#client.POST('/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/check', {
        params: { path },
        body: from === undefined ? {} : { from },
      }),
    );
  }

  async pinResourceVersion(path: ResourcePath, versionId: number): Promise<Resource> {
    return this.#call(() =>
      this.#client.PUT(
        '/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/versions/{version_id}/pin',
        { params: { path: { ...path, version_id: versionId } }, signal: this.#signal() },
      ),
    );
  }

  async unpinResource(path: ResourcePath): Promise<Resource> {
    return this.#call(() =>
      this.#client.PUT('/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/unpin', {
        params: { path },
        signal: this.#signal(),
      }),
    );
  }

  async enableResourceVersion(path: ResourcePath, versionId: number): Promise<ResourceVersion> {
    return this.#call(() =>
      this.#client.PUT(
        '/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/versions/{version_id}/enable',
        { params: { path: { ...path, version_id: versionId } }, signal: this.#signal() },
      ),
    );
  }

  async disableResourceVersion(path: ResourcePath, versionId: number): Promise<ResourceVersion> {
    return this.#call(() =>
      this.#client.PUT(
        '/api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/versions/{version_id}/disable',
        { params: { path: { ...path, version_id: versionId } }, signal: this.#signal() },
      ),
    );
  }

  // --- Containers and volumes ---

  async listContainers(team: string, query: ContainersQuery = {}): Promise<Container[]> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/containers', {
        params: { path: { team }, query },
        signal: this.#signal(),
      }),
    );
  }

  async listVolumes(team: string, query: ContainersQuery = {}): Promise<Volume[]> {
    return this.#call(() =>
      this.#client.GET('/api/v1/teams/{team}/volumes', {
        params: { path: { team }, query },
        signal: this.#signal(),
      }),
    );
  }

  /**
   * Opens an intercept WebSocket to a process in a container of the build (see
   * core/api/schemas/intercept-message.json for its frames), resolving once it is open. A refusal
   * (no such container, several, no terminal on this runtime) rejects as any failed reply does.
   * The socket comes paused: the caller resumes it once it listens, so no frame is missed.
   */
  async openIntercept(buildId: number, query: InterceptQuery): Promise<WebSocket> {
    const url = new URL(`${this.url}/api/v1/builds/${buildId}/intercept`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    for (const [name, value] of Object.entries(query)) {
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: this.#authHeaders(), handshakeTimeout: this.#timeoutMs });
      // A later error rejects nothing: the session listens for its own. Paused at once: frames
      // that came with the handshake would otherwise be emitted before the caller listens.
      socket.once('open', () => {
        socket.pause();
        resolve(socket);
      });
      socket.once('unexpected-response', (request, response) => {
        readBody(response).then(
          (text) => {
            request.destroy();
            reject(failedReply(this.#context(), response.statusCode ?? 0, parseJson(text)));
          },
          (error: unknown) => {
            request.destroy();
            reject(unreachable(this.#context(), error));
          },
        );
      });
      socket.once('error', (error) => reject(unreachable(this.#context(), error, this.#timeoutMs)));
    });
  }

  // --- Plumbing ---

  #signal(): AbortSignal {
    return AbortSignal.timeout(this.#timeoutMs);
  }

  #context(): ErrorContext {
    return { url: this.url, targetName: this.#target.name };
  }

  #authHeaders(): Record<string, string> {
    return this.#target.token === null ? {} : { authorization: `Bearer ${this.#target.token}` };
  }

  /** Network failures become CC_E_CLI_UNREACHABLE here, before anything reads a body. */
  async #fetch(request: Request | string, init?: RequestInit): Promise<Response> {
    try {
      return await fetch(request, init);
    } catch (error) {
      // An abort the caller asked for is not the server's fault: let it through as it is.
      if (init?.signal?.aborted === true && init.signal.reason === error) throw error;
      throw unreachable(this.#context(), error, this.#timeoutMs);
    }
  }

  /** A request outside openapi-fetch (streams); a reply that is not 2xx rejects with its error. */
  async #raw(path: string, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    const headers = { ...this.#authHeaders(), ...(init.headers as Record<string, string> | undefined) };
    const response = await this.#fetch(`${this.url}${path}`, { ...init, headers });
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    throw failedReply(this.#context(), response.status, parseJson(text));
  }

  async #json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw badResponse(this.#context(), 'its answer is not JSON', error);
    }
  }

  async #page<T>(request: () => Promise<FetchResult<T[]>>): Promise<Page<T>> {
    let response: Response | undefined;
    const items = await this.#call(async () => {
      const result = await request();
      response = result.response;
      return result;
    });
    const before = nextCursor(response?.headers.get('link') ?? null);
    return before === undefined ? { items } : { items, before };
  }

  async #call<T>(request: () => Promise<FetchResult<T>>): Promise<T>;
  async #call<T>(request: () => Promise<FetchResult<T>>, options: { empty: true }): Promise<T | undefined>;
  async #call<T>(request: () => Promise<FetchResult<T>>, options?: { empty: true }): Promise<T | undefined> {
    let result: FetchResult<T>;
    try {
      result = await request();
    } catch (error) {
      if (error instanceof CliError) throw error;
      // openapi-fetch parses 2xx bodies as JSON; something that is not a Conveyor server lands here.
      throw badResponse(this.#context(), 'its answer is not JSON', error);
    }
    const { data, error, response } = result;
    if (response.ok && (data !== undefined || options?.empty === true)) return data;
    throw failedReply(this.#context(), response.status, error);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
