import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './pool.js';

/** Tokens look like `cc_` + 43 base64url characters (32 random bytes). */
const TOKEN_PREFIX = 'cc_';
const ADMIN_TOKEN_NAME = 'admin';
const ADMIN_ROLE = 'admin';

/** Who a verified token speaks for. */
export interface TokenIdentity {
  readonly name: string;
  readonly role: string;
}

/**
 * Creates the admin token when no admin token exists yet and resolves its plaintext, which is
 * stored nowhere: the caller shows it once. Resolves null when an admin token already exists,
 * also when another process created it a moment ago (the unique name settles the race).
 */
export async function ensureAdminToken(db: Queryable): Promise<string | null> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query(
    `INSERT INTO auth_tokens (name, token_sha256, role)
     SELECT $1, $2, $3
     WHERE NOT EXISTS (SELECT 1 FROM auth_tokens WHERE role = $3)
     ON CONFLICT (name) DO NOTHING
     RETURNING id`,
    [ADMIN_TOKEN_NAME, digest(token), ADMIN_ROLE],
  );
  return rows.length === 1 ? token : null;
}

/**
 * Runs on every API request: one round trip through a named prepared statement. It also records
 * last_used_at, but writes it at most once a minute per token so that a busy client does not turn
 * every read into a row update (the data-modifying CTE runs whether or not its rows are read).
 */
const VERIFY_TOKEN = {
  name: 'conveyor_verify_token',
  text: `WITH hit AS (
           SELECT id, name, role, last_used_at FROM auth_tokens WHERE token_sha256 = $1
         ), touched AS (
           UPDATE auth_tokens SET last_used_at = now()
           FROM hit
           WHERE auth_tokens.id = hit.id
             AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute')
         )
         SELECT name, role FROM hit`,
};

/** Resolves who `token` belongs to, or null when it is not a valid token. */
export async function verifyToken(db: Queryable, token: string): Promise<TokenIdentity | null> {
  // Not even shaped like a token: no need to ask the database.
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) return null;
  const { rows } = await db.query<TokenRow>({ ...VERIFY_TOKEN, values: [digest(token)] });
  const row = rows[0];
  return row === undefined ? null : { name: row.name, role: row.role };
}

export interface TokenVerifierOptions {
  /** How long a verified token is trusted without asking the database again. Default 5000 ms. */
  cacheMs?: number | undefined;
  /** Tokens remembered at most; the oldest is forgotten first. Default 1000. */
  maxEntries?: number | undefined;
}

/**
 * verifyToken with a short memory: a client that sends many requests (a `cc watch`, a script
 * triggering builds) costs one round trip per token every `cacheMs`, not one per request. Only
 * valid tokens are remembered, so a new token works at once; a token removed from the database
 * stops working here within `cacheMs`.
 */
export function createTokenVerifier(
  db: Queryable,
  options: TokenVerifierOptions = {},
): (token: string) => Promise<TokenIdentity | null> {
  const cacheMs = options.cacheMs ?? 5000;
  const maxEntries = options.maxEntries ?? 1000;
  const known = new Map<string, { identity: TokenIdentity; until: number }>();
  return async (token) => {
    if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) return null;
    const key = digest(token).toString('hex');
    const hit = known.get(key);
    if (hit && hit.until > Date.now()) return hit.identity;
    known.delete(key);
    const identity = await verifyToken(db, token);
    if (identity) {
      if (known.size >= maxEntries) known.delete(known.keys().next().value as string);
      known.set(key, { identity, until: Date.now() + cacheMs });
    }
    return identity;
  };
}

interface TokenRow {
  name: string;
  role: string;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
