/**
 * Who may do what. Configured tokens carry grants (actions on repository patterns); a request
 * presents one as `Authorization: Bearer <token>` or as the password of Basic auth (any user
 * name). With the `bearer` scheme the registry also plays Distribution's token server: `/token`
 * trades those credentials for a short-lived signed token scoped to the repositories asked for,
 * and 401s carry `WWW-Authenticate: Bearer realm=…,service=…,scope=…` so clients know where to go.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Action, FilledOptions } from './config.js';
import { RegistryError } from './errors.js';

export interface Principal {
  /** For logs: the token's name, `anonymous`, or `issued:<name>`. */
  readonly name: string;
  readonly anonymous: boolean;
  can(repository: string, action: Action): boolean;
  /** Whether it may do `action` on some repository (the catalog's question). */
  any(action: Action): boolean;
}

/** A scope of the token protocol: `repository:<name>:<actions>`. */
export interface Scope {
  repository: string;
  actions: Action[];
}

interface Grant {
  pattern: RegExp;
  actions: ReadonlySet<Action>;
}

/** What a `/token` token says: who, what, until when. Signed, so nothing is kept server-side. */
interface IssuedClaims {
  sub: string;
  /** [repository, ...actions] */
  acc: Array<[string, ...Action[]]>;
  exp: number;
}

export function sha256Token(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `*` within one path component, `**` across them; everything else literal. */
export function compilePattern(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

function grantsPrincipal(name: string, grants: Grant[], anonymous = false): Principal {
  return {
    name,
    anonymous,
    can: (repository, action) => grants.some((g) => g.actions.has(action) && g.pattern.test(repository)),
    any: (action) => grants.some((g) => g.actions.has(action)),
  };
}

const EVERYTHING = /^/;
/** An anonymous caller who must fetch a token first (bearer scheme). */
const NOBODY: Principal = { name: 'anonymous', anonymous: true, can: () => false, any: () => false };

/** Parse `repository:<name>:<a,b>` scopes (several per parameter, space-separated, as Docker sends). */
export function parseScopes(values: string[]): Scope[] {
  const scopes: Scope[] = [];
  for (const value of values) {
    for (const one of value.split(' ')) {
      const match = /^repository(?:\([^)]*\))?:([^:]+):([a-z*,]*)$/.exec(one);
      if (!match) continue;
      const actions = match[2]!
        .split(',')
        .flatMap((a): Action[] =>
          a === '*' ? ['pull', 'push', 'delete'] : a === 'pull' || a === 'push' || a === 'delete' ? [a] : [],
        );
      scopes.push({ repository: match[1]!, actions });
    }
  }
  return scopes;
}

export class Authenticator {
  private readonly tokens: Array<{ name: string; sha256: Buffer; grants: Grant[] }>;
  private readonly anonymousPrincipal: Principal;
  private readonly secret: Buffer;

  constructor(private readonly options: FilledOptions['auth']) {
    this.tokens = options.tokens.map((t) => ({
      name: t.name,
      sha256: t.sha256,
      grants: t.access.map((a) => ({ pattern: compilePattern(a.repository), actions: new Set(a.actions) })),
    }));
    const anonymousActions: Action[] =
      options.anonymous === 'push'
        ? ['pull', 'push', 'delete']
        : options.anonymous === 'pull'
          ? ['pull']
          : [];
    this.anonymousPrincipal = grantsPrincipal(
      'anonymous',
      anonymousActions.length ? [{ pattern: EVERYTHING, actions: new Set(anonymousActions) }] : [],
      true,
    );
    this.secret = options.tokenSecret ? Buffer.from(options.tokenSecret, 'utf8') : randomBytes(32);
  }

  /** Whether any credential is configured: then `/v2/` itself asks for one. */
  get enabled(): boolean {
    return this.tokens.length > 0 || this.options.scheme === 'bearer';
  }

  get scheme(): 'basic' | 'bearer' {
    return this.options.scheme;
  }

  /**
   * The principal of an Authorization header: anonymous without one, undefined when the
   * credentials are wrong (the caller answers 401: a wrong token never falls back to anonymous).
   * With the bearer scheme, as in Distribution's token auth, API requests carry a Bearer token and
   * only the token endpoint (`tokenEndpoint: true`) takes Basic or no credentials; what anonymous
   * callers may do, they get as a token from there.
   */
  authenticate(header: string | undefined, { tokenEndpoint = false } = {}): Principal | undefined {
    const bearerOnly = this.options.scheme === 'bearer' && !tokenEndpoint;
    if (header === undefined || header.trim() === '') return bearerOnly ? NOBODY : this.anonymousPrincipal;
    const basic = !bearerOnly;
    const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
    let secret: string | undefined;
    if (/^bearer$/i.test(scheme)) {
      secret = value;
      const issued = this.verifyIssued(value);
      if (issued) return issued;
    } else if (basic && /^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) secret = decoded.slice(colon + 1);
    }
    if (!secret) return undefined;
    const hash = sha256Token(secret);
    // Compare against every token in constant time each: no early exit that times out which one matched.
    let found: (typeof this.tokens)[number] | undefined;
    for (const candidate of this.tokens) if (timingSafeEqual(candidate.sha256, hash)) found ??= candidate;
    return found ? grantsPrincipal(found.name, found.grants) : undefined;
  }

  /**
   * The WWW-Authenticate value of a 401. `origin` (`http://host:port`) builds the Bearer realm when
   * none is configured; `scope` says what the failed request needed.
   */
  challenge(origin: string, scope?: Scope, error?: 'invalid_token' | 'insufficient_scope'): string {
    if (this.options.scheme === 'basic')
      return `Basic realm="${(this.options.realm ?? 'conveyor-registry').replace(/"/g, '')}"`;
    const parts = [
      `realm="${this.options.realm ?? `${origin}/token`}"`,
      `service="${this.options.service}"`,
      ...(scope ? [`scope="repository:${scope.repository}:${scope.actions.join(',')}"`] : []),
      ...(error ? [`error="${error}"`] : []),
    ];
    return `Bearer ${parts.join(',')}`;
  }

  /**
   * Throw unless `principal` may do `action` on `repository`: 401 with a challenge for an anonymous
   * caller (and, with Bearer, for a token lacking the scope, so the client fetches a better one);
   * 403 DENIED for a known token that lacks the grant.
   */
  require(principal: Principal, repository: string, action: Action, origin: string): void {
    if (principal.can(repository, action)) return;
    const scope: Scope = { repository, actions: action === 'pull' ? ['pull'] : ['pull', action] };
    if (principal.anonymous || this.options.scheme === 'bearer') {
      throw new RegistryError('UNAUTHORIZED', `authentication required to ${action} ${repository}`, {
        detail: [{ Type: 'repository', Name: repository, Action: action }],
        headers: {
          'www-authenticate': this.challenge(
            origin,
            scope,
            principal.anonymous ? undefined : 'insufficient_scope',
          ),
        },
      });
    }
    throw new RegistryError('DENIED', `${principal.name} may not ${action} ${repository}`, {
      detail: [{ Type: 'repository', Name: repository, Action: action }],
    });
  }

  /** A 401 for credentials that are wrong. */
  invalidCredentials(origin: string): RegistryError {
    return new RegistryError('UNAUTHORIZED', 'invalid credentials: the token is unknown or expired', {
      headers: { 'www-authenticate': this.challenge(origin, undefined, 'invalid_token') },
    });
  }

  /** The `/token` answer: what of `scopes` the principal may have, signed. */
  issue(principal: Principal, scopes: Scope[], now = Date.now()) {
    const acc: IssuedClaims['acc'] = [];
    for (const scope of scopes) {
      const granted = scope.actions.filter((action) => principal.can(scope.repository, action));
      if (granted.length) acc.push([scope.repository, ...granted]);
    }
    const claims: IssuedClaims = {
      sub: principal.name,
      acc,
      exp: Math.floor(now / 1000) + this.options.tokenTtlSeconds,
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const token = `${payload}.${this.sign(payload)}`;
    return {
      token,
      access_token: token,
      expires_in: this.options.tokenTtlSeconds,
      issued_at: new Date(now).toISOString(),
    };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }

  private verifyIssued(token: string, now = Date.now()): Principal | undefined {
    const dot = token.indexOf('.');
    if (dot < 0) return undefined;
    const payload = token.slice(0, dot);
    const signature = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(payload));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
    let claims: IssuedClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as IssuedClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < now || !Array.isArray(claims.acc))
      return undefined;
    return {
      name: `issued:${claims.sub}`,
      anonymous: false,
      // What anyone may do, a token holder may do too.
      can: (repository, action) =>
        claims.acc.some(([name, ...actions]) => name === repository && actions.includes(action)) ||
        this.anonymousPrincipal.can(repository, action),
      any: (action) =>
        claims.acc.some(([, ...actions]) => actions.includes(action)) || this.anonymousPrincipal.any(action),
    };
  }
}
