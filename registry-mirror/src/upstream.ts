/**
 * A client of the upstream registry a mirror pulls through. It answers the upstream's challenges
 * as Distribution clients do: `Basic` → the configured credentials; `Bearer realm=…,service=…,
 * scope=…` → a token from the realm (with the credentials as Basic, or anonymously), cached per
 * scope until it expires. Network failures, timeouts and 5xx/429 answers become
 * `UpstreamUnavailable`, which the mirror turns into "serve it from the cache if we can".
 */
import type { FilledOptions } from './config.js';

export type UpstreamConfig = NonNullable<FilledOptions['upstream']>;

export class UpstreamUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamUnavailable';
  }
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` (one challenge is all registries send). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let m = pattern.exec(match[2]!); m; m = pattern.exec(match[2]!))
    params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: match[1]!.toLowerCase(), params };
}

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  /** The path under the upstream's base URL, `/v2/…`, with any query. */
  path: string;
  /** The repository the request is about: the default scope of a Bearer token. */
  repository?: string;
  headers?: Record<string, string>;
}

export class UpstreamClient {
  readonly url: string;
  private readonly basic: string | undefined;
  /** Set once the upstream asked for Basic: from then on it is sent up front. */
  private sendBasic = false;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly config: UpstreamConfig) {
    this.url = config.url;
    this.basic =
      config.username !== undefined && config.password !== undefined
        ? `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`
        : undefined;
  }

  /**
   * Send a request, answering at most one auth challenge. Returns the upstream's response (also a
   * 401/403/404 one: the caller decides); throws UpstreamUnavailable when there is no usable answer.
   */
  async request(request: UpstreamRequest): Promise<Response> {
    const scope = request.repository === undefined ? undefined : `repository:${request.repository}:pull`;
    const cached = scope === undefined ? undefined : this.tokens.get(scope);
    let authorization: string | undefined;
    if (cached && cached.expiresAt > Date.now()) authorization = `Bearer ${cached.token}`;
    else if (this.sendBasic) authorization = this.basic;

    const response = await this.send(request, authorization);
    if (response.status !== 401) return response;
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (challenge?.scheme === 'basic' && this.basic && authorization !== this.basic) {
      await response.body?.cancel();
      this.sendBasic = true;
      return this.send(request, this.basic);
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      await response.body?.cancel();
      const wanted = challenge.params.scope ?? scope;
      const token = await this.fetchToken(challenge.params.realm, challenge.params.service, wanted);
      if (wanted !== undefined) this.tokens.set(wanted, token);
      if (scope !== undefined && scope !== wanted) this.tokens.set(scope, token);
      return this.send(request, `Bearer ${token.token}`);
    }
    return response;
  }

  /** One HTTP exchange; the timeout covers the wait for the response headers, not the body. */
  private async send(request: UpstreamRequest, authorization: string | undefined): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutSeconds * 1000);
    let response: Response;
    try {
      response = await fetch(`${this.url}${request.path}`, {
        method: request.method,
        headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (error) {
      throw new UpstreamUnavailable(
        controller.signal.aborted
          ? `the upstream ${this.url} did not answer ${request.method} ${request.path} within ${this.config.timeoutSeconds} s`
          : `the upstream ${this.url} is unreachable: ${describe(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      throw new UpstreamUnavailable(
        `the upstream ${this.url} answered ${request.method} ${request.path} with ${response.status}`,
      );
    }
    return response;
  }

  /** Distribution's token flow: GET <realm>?service=…&scope=…, with the credentials if we have any. */
  private async fetchToken(
    realm: string,
    service: string | undefined,
    scope: string | undefined,
  ): Promise<{ token: string; expiresAt: number }> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutSeconds * 1000);
    try {
      const response = await fetch(url, {
        headers: this.basic ? { authorization: this.basic } : {},
        signal: controller.signal,
      });
      const text = await response.text();
      if (!response.ok)
        throw new UpstreamUnavailable(
          `the upstream's token endpoint ${url.origin}${url.pathname} refused a token for ${scope ?? 'no scope'}: ${response.status} ${text.slice(0, 200)}`,
        );
      const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
      const token = body.token ?? body.access_token;
      if (!token)
        throw new UpstreamUnavailable(`the upstream's token endpoint ${realm} answered without a token`);
      // Docker's protocol: 60 s when unsaid; renew a little early.
      const lifetime = Math.max((body.expires_in ?? 60) - 10, 1);
      return { token, expiresAt: Date.now() + lifetime * 1000 };
    } catch (error) {
      if (error instanceof UpstreamUnavailable) throw error;
      throw new UpstreamUnavailable(`the upstream's token endpoint ${realm} failed: ${describe(error)}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
