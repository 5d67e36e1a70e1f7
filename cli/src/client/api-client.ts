import createClient, { type Client } from 'openapi-fetch';
import { CliError } from '../errors/index.js';
import type { ResolvedTarget } from '../targets/index.js';
import type { components, paths } from './openapi.generated.js';

export type ErrorResponse = components['schemas']['ErrorResponse'];
export type InfoResponse = components['schemas']['InfoResponse'];
export type PluginSummary = components['schemas']['PluginSummary'];

export interface ApiClientOptions {
  /** Per-request time limit; a server that does not answer in time is unreachable. */
  timeoutMs?: number;
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
 * turns every way a call can fail into a CliError whose code a script can branch on.
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
      headers: target.token === null ? {} : { authorization: `Bearer ${target.token}` },
      fetch: (request) => this.#fetch(request),
    });
  }

  get url(): string {
    return this.#target.url;
  }

  async info(): Promise<InfoResponse> {
    return this.#call(() => this.#client.GET('/api/v1/info', { signal: this.#signal() }));
  }

  async listPlugins(): Promise<PluginSummary[]> {
    const { plugins } = await this.#call(() =>
      this.#client.GET('/api/v1/plugins', { signal: this.#signal() }),
    );
    return plugins;
  }

  #signal(): AbortSignal {
    return AbortSignal.timeout(this.#timeoutMs);
  }

  /** Network failures become CC_E_CLI_UNREACHABLE here, before openapi-fetch reads any body. */
  async #fetch(request: Request): Promise<Response> {
    try {
      return await fetch(request);
    } catch (error) {
      const reason = networkReason(error, this.#timeoutMs);
      throw new CliError(
        'CC_E_CLI_UNREACHABLE',
        `cannot reach the Conveyor server at ${this.url} (${reason})`,
        {
          cause: error,
          hint: 'check that the server runs (`cc up` starts a local one) and that the URL is right (`cc targets`)',
          details: { url: this.url, reason },
        },
      );
    }
  }

  async #call<T>(request: () => Promise<FetchResult<T>>): Promise<T> {
    let result: FetchResult<T>;
    try {
      result = await request();
    } catch (error) {
      if (error instanceof CliError) throw error;
      // openapi-fetch parses 2xx bodies as JSON; something that is not a Conveyor server lands here.
      throw this.#badResponse(`its answer is not JSON`, error);
    }
    const { data, error, response } = result;
    if (response.ok && data !== undefined) return data;
    if (!isErrorResponse(error)) {
      throw this.#badResponse(`it answered ${response.status} without a Conveyor error body`);
    }
    if (response.status === 401) {
      const name = this.#target.name ?? 'NAME';
      throw new CliError(
        'CC_E_CLI_UNAUTHORIZED',
        `the server at ${this.url} rejected the token: ${error.message}`,
        {
          hint: `log in again: cc login -t ${name} --url ${this.url} --token TOKEN`,
          details: { url: this.url, status: 401, serverCode: error.code },
        },
      );
    }
    throw new CliError(
      'CC_E_CLI_API_ERROR',
      `the server at ${this.url} answered ${error.code}: ${error.message}`,
      {
        details: { url: this.url, status: response.status, serverCode: error.code, ...(error.details ?? {}) },
      },
    );
  }

  #badResponse(why: string, cause?: unknown): CliError {
    return new CliError(
      'CC_E_CLI_BAD_RESPONSE',
      `${this.url} does not answer like a Conveyor server: ${why}`,
      {
        cause,
        hint: "the URL is the server's root, e.g. http://127.0.0.1:8080",
        details: { url: this.url },
      },
    );
  }
}

/** A short, stable reason for a failed fetch: the system error code where there is one. */
function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`;
  // undici reports "fetch failed" and puts the system error (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error)
    return 'code' in cause && typeof cause.code === 'string' ? cause.code : cause.message;
  return error instanceof Error ? error.message : String(error);
}

function isErrorResponse(value: unknown): value is ErrorResponse {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    typeof value.code === 'string' &&
    'message' in value &&
    typeof value.message === 'string'
  );
}
