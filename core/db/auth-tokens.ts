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

interface TokenRow {
  name: string;
  role: string;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
