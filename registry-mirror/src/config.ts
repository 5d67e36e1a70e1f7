/**
 * The registry's options: what callers pass (`RegistryMirrorOptions`, mostly optional), checked
 * at the boundary with messages that name the option, and filled with defaults
 * (`FilledOptions`) before anything else sees them. The CLI's config file is the same object as
 * JSON.
 */
import { RegistryConfigError } from './errors.js';

export type Action = 'pull' | 'push' | 'delete';
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

/** One grant of a token: actions on the repositories a pattern matches. */
export interface AccessOption {
  /**
   * A repository name pattern: `*` matches within one path component, `**` across components
   * (`plugins/*` matches `plugins/git` only; `plugins/**` also `plugins/team/git`; `**` all).
   */
  repository: string;
  /** `push` implies `pull`; `delete` is separate; `*` is all three. */
  actions: Array<Action | '*'>;
}

export interface TokenOption {
  /** A short name for logs. */
  name?: string;
  /** The token itself; or give `sha256` (hex of the token's SHA-256) to keep it out of the config. */
  token?: string;
  sha256?: string;
  access: AccessOption[];
}

export interface AuthOptions {
  tokens?: TokenOption[];
  /**
   * What a request without credentials may do: `none`, `pull` (anonymous pull, token push) or
   * `push` (everything: an open registry). Default: `pull` when tokens are configured, else `push`.
   */
  anonymous?: 'none' | 'pull' | 'push';
  /**
   * The challenge in WWW-Authenticate. `basic` (default): `Basic realm="<realm>"`; clients send the
   * token as the password. `bearer`: Distribution's token flow; the registry serves its own token
   * endpoint at `/token` and challenges with `Bearer realm=<url>/token,service=…,scope=…`.
   */
  scheme?: 'basic' | 'bearer';
  /** The Basic realm (default `conveyor-registry`), or for `bearer` the token endpoint's URL (default: `/token` on the request's host). */
  realm?: string;
  /** The `service` of Bearer challenges and tokens (default `conveyor-registry`). */
  service?: string;
  /** How long a token from `/token` lives (default 300 s). */
  tokenTtlSeconds?: number;
  /** The HMAC key of `/token`'s tokens; default random per process (tokens die with a restart). */
  tokenSecret?: string;
}

export interface UpstreamOptions {
  /** The upstream registry's base URL, e.g. `https://registry.example.com` (without `/v2/`). */
  url: string;
  /** Credentials for the upstream: sent as Basic, or exchanged for a Bearer token as it asks. */
  username?: string;
  password?: string;
  /** How long a manifest fetched by tag is served without asking the upstream again (default 300 s). */
  tagTtlSeconds?: number;
  /** How long to wait for the upstream's response headers before treating it as unreachable (default 10 s). */
  timeoutSeconds?: number;
}

/** Garbage collection inside the server (see gc.ts); the `gc` subcommand runs it from outside. */
export interface GcScheduleOptions {
  /** Collect every this many seconds; 0 (the default) never. The first run is one interval after start. */
  intervalSeconds?: number;
  /** Blobs and referrers touched this recently are kept, referenced or not (default 3600 s). */
  graceSeconds?: number;
}

export interface RegistryMirrorOptions {
  /** The storage root: blobs, uploads and repositories live under it. */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 5000; 0 picks a free port. */
  port?: number;
  auth?: AuthOptions;
  /** Mirror mode: a pull-through cache of this registry; pushes are refused. */
  upstream?: UpstreamOptions;
  /** Whether DELETE of manifests, tags and blobs is allowed (default true). */
  delete?: boolean;
  /** Upload sessions untouched for this long are dropped (default 24 h), by gc too. */
  uploadExpirySeconds?: number;
  /** Periodic garbage collection of unreferenced blobs (default off). */
  gc?: GcScheduleOptions;
  /** fastify's logger (default off). */
  logger?: boolean;
}

export interface FilledToken {
  name: string;
  sha256: Buffer;
  access: Array<{ repository: string; actions: Action[] }>;
}

export interface FilledOptions {
  root: string;
  host: string;
  port: number;
  auth: {
    tokens: FilledToken[];
    anonymous: 'none' | 'pull' | 'push';
    scheme: 'basic' | 'bearer';
    realm: string | undefined;
    service: string;
    tokenTtlSeconds: number;
    tokenSecret: string | undefined;
  };
  upstream:
    | {
        url: string;
        username: string | undefined;
        password: string | undefined;
        tagTtlSeconds: number;
        timeoutSeconds: number;
      }
    | undefined;
  delete: boolean;
  uploadExpirySeconds: number;
  gc: { intervalSeconds: number; graceSeconds: number };
  logger: boolean;
}

const fail = (message: string): never => {
  throw new RegistryConfigError('CC_E_REGISTRY_CONFIG_INVALID', message);
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function object(value: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) return fail(`${where} must be an object`);
  for (const key of Object.keys(value))
    if (!keys.includes(key)) fail(`${where}.${key} is not an option; known: ${keys.join(', ')}`);
  return value;
}

function string(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return fail(`${where} must be a non-empty string`);
  return value;
}

function number(value: unknown, where: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    return fail(`${where} must be a number from ${min} to ${max}`);
  return value;
}

function oneOf<T extends string>(value: unknown, where: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T))
    return fail(`${where} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function boolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') return fail(`${where} must be true or false`);
  return value;
}

const PATTERN_CHARS = /^[a-z0-9._\-/*]+$/;

function token(value: unknown, index: number, sha256: (token: string) => Buffer): FilledToken {
  const where = `options.auth.tokens[${index}]`;
  const raw = object(value, where, ['name', 'token', 'sha256', 'access']);
  const secret = string(raw.token, `${where}.token`);
  const hash = string(raw.sha256, `${where}.sha256`);
  if ((secret === undefined) === (hash === undefined)) fail(`${where} needs exactly one of token, sha256`);
  if (hash !== undefined && !/^[a-f0-9]{64}$/.test(hash))
    fail(`${where}.sha256 must be 64 lower-case hex digits`);
  if (!Array.isArray(raw.access) || raw.access.length === 0)
    fail(`${where}.access must be a non-empty array of { repository, actions }`);
  const access = (raw.access as unknown[]).map((entry, i) => {
    const at = `${where}.access[${i}]`;
    const grant = object(entry, at, ['repository', 'actions']);
    const repository = string(grant.repository, `${at}.repository`) ?? fail(`${at}.repository is required`);
    if (!PATTERN_CHARS.test(repository))
      fail(`${at}.repository must be a repository name pattern (lower-case name characters, / and *)`);
    if (!Array.isArray(grant.actions) || grant.actions.length === 0)
      fail(`${at}.actions must be a non-empty array of pull, push, delete or *`);
    const actions = new Set<Action>();
    (grant.actions as unknown[]).forEach((action, j) => {
      const one = oneOf(action, `${at}.actions[${j}]`, [...ACTIONS, '*'] as const);
      if (one === '*') for (const a of ACTIONS) actions.add(a);
      else if (one !== undefined) actions.add(one);
    });
    // A pusher must be able to check what is already there.
    if (actions.has('push')) actions.add('pull');
    return { repository, actions: [...actions] };
  });
  return {
    name: string(raw.name, `${where}.name`) ?? `token #${index}`,
    sha256: hash !== undefined ? Buffer.from(hash, 'hex') : sha256(secret!),
    access,
  };
}

/** Check options (from code or a config file) and fill in the defaults. */
export function fillOptions(input: unknown, sha256: (token: string) => Buffer): FilledOptions {
  const raw = object(input, 'options', [
    'root',
    'host',
    'port',
    'auth',
    'upstream',
    'delete',
    'uploadExpirySeconds',
    'gc',
    'logger',
  ]);
  const root = string(raw.root, 'options.root') ?? fail('options.root is required: the storage directory');
  const port = number(raw.port, 'options.port', 0, 65535);
  if (port !== undefined && !Number.isInteger(port)) fail('options.port must be an integer');

  const auth = object(raw.auth ?? {}, 'options.auth', [
    'tokens',
    'anonymous',
    'scheme',
    'realm',
    'service',
    'tokenTtlSeconds',
    'tokenSecret',
  ]);
  if (auth.tokens !== undefined && !Array.isArray(auth.tokens)) fail('options.auth.tokens must be an array');
  const tokens = ((auth.tokens as unknown[] | undefined) ?? []).map((t, i) => token(t, i, sha256));
  const scheme = oneOf(auth.scheme, 'options.auth.scheme', ['basic', 'bearer'] as const) ?? 'basic';
  const realm = string(auth.realm, 'options.auth.realm');
  if (scheme === 'bearer' && realm !== undefined && !/^https?:\/\//.test(realm))
    fail('options.auth.realm must be the token endpoint URL (http:// or https://) when scheme is bearer');

  let upstream: FilledOptions['upstream'];
  if (raw.upstream !== undefined) {
    const up = object(raw.upstream, 'options.upstream', [
      'url',
      'username',
      'password',
      'tagTtlSeconds',
      'timeoutSeconds',
    ]);
    const url =
      string(up.url, 'options.upstream.url') ?? fail('options.upstream.url is required in mirror mode');
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      fail(`options.upstream.url ${url} is not a URL`);
    }
    if (parsed!.protocol !== 'http:' && parsed!.protocol !== 'https:')
      fail(`options.upstream.url must be http:// or https://, not ${parsed!.protocol}`);
    const username = string(up.username, 'options.upstream.username');
    const password = string(up.password, 'options.upstream.password');
    if ((username === undefined) !== (password === undefined))
      fail('options.upstream.username and options.upstream.password go together');
    upstream = {
      url: url.replace(/\/+$/, '').replace(/\/v2$/, ''),
      username,
      password,
      tagTtlSeconds: number(up.tagTtlSeconds, 'options.upstream.tagTtlSeconds', 0, 365 * 86400) ?? 300,
      timeoutSeconds: number(up.timeoutSeconds, 'options.upstream.timeoutSeconds', 0.001, 3600) ?? 10,
    };
  }

  const gc = object(raw.gc ?? {}, 'options.gc', ['intervalSeconds', 'graceSeconds']);

  return {
    root,
    host: string(raw.host, 'options.host') ?? '127.0.0.1',
    port: port ?? 5000,
    auth: {
      tokens,
      anonymous:
        oneOf(auth.anonymous, 'options.auth.anonymous', ['none', 'pull', 'push'] as const) ??
        (tokens.length > 0 ? 'pull' : 'push'),
      scheme,
      realm,
      service: string(auth.service, 'options.auth.service') ?? 'conveyor-registry',
      tokenTtlSeconds: number(auth.tokenTtlSeconds, 'options.auth.tokenTtlSeconds', 1, 86400) ?? 300,
      tokenSecret: string(auth.tokenSecret, 'options.auth.tokenSecret'),
    },
    upstream,
    delete: boolean(raw.delete, 'options.delete') ?? true,
    uploadExpirySeconds:
      number(raw.uploadExpirySeconds, 'options.uploadExpirySeconds', 1, 365 * 86400) ?? 86400,
    gc: {
      // A Node timer waits at most 2^31 ms (24.8 days).
      intervalSeconds: number(gc.intervalSeconds, 'options.gc.intervalSeconds', 0, 24 * 86400) ?? 0,
      graceSeconds: number(gc.graceSeconds, 'options.gc.graceSeconds', 0, 365 * 86400) ?? 3600,
    },
    logger: boolean(raw.logger, 'options.logger') ?? false,
  };
}
