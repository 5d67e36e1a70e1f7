import { createHash } from 'node:crypto';
import { createTokenVerifier, ensureAdminToken, verifyToken } from '@conveyor/core/db';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

interface TokenRow {
  id: number;
  name: string;
  role: string;
  token_sha256: Buffer;
  last_used_at: Date | null;
}

async function tokenRows(): Promise<TokenRow[]> {
  const { rows } = await database.pool.query<TokenRow>('SELECT * FROM auth_tokens ORDER BY id');
  return rows;
}

describe('admin token', () => {
  let token: string;

  beforeAll(async () => {
    const created = await ensureAdminToken(database.pool);
    expect(created).not.toBeNull();
    token = created ?? '';
  });

  it('is created once: later calls leave it alone and return null', async () => {
    expect(token).toMatch(/^cc_[A-Za-z0-9_-]{43}$/);
    expect(await ensureAdminToken(database.pool)).toBeNull();
    expect(await ensureAdminToken(database.pool)).toBeNull();
    expect((await tokenRows()).map((row) => row.name)).toEqual(['admin']);
  });

  it('is stored only as its sha256: the plaintext is nowhere in its row', async () => {
    const [row] = await tokenRows();
    expect(row?.token_sha256).toEqual(createHash('sha256').update(token).digest());

    const { rows } = await database.pool.query<{ text: string }>(
      'SELECT row_to_json(t)::text AS text FROM auth_tokens t',
    );
    const stored = rows.map((r) => r.text).join('\n');
    const secret = token.slice('cc_'.length);
    expect(stored).not.toContain(secret);
    // Nor in the shapes a bytea or hex column would hold it in.
    expect(stored).not.toContain(Buffer.from(token).toString('hex'));
    expect(stored).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
  });

  it('verifies as the admin', async () => {
    expect(await verifyToken(database.pool, token)).toEqual({ name: 'admin', role: 'admin' });
  });

  it('rejects a wrong token, a tampered one and garbage', async () => {
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(await verifyToken(database.pool, `${token.slice(0, -1)}${last}`)).toBeNull();
    expect(await verifyToken(database.pool, `cc_${'x'.repeat(43)}`)).toBeNull();
    expect(await verifyToken(database.pool, token.slice('cc_'.length))).toBeNull();
    expect(await verifyToken(database.pool, '')).toBeNull();
  });

  it('records last_used_at, at most once a minute', async () => {
    const setLastUsed = (sql: string) => database.pool.query(`UPDATE auth_tokens SET last_used_at = ${sql}`);
    const lastUsed = async () => (await tokenRows())[0]?.last_used_at ?? null;

    await setLastUsed('NULL');
    await verifyToken(database.pool, token);
    expect(await lastUsed()).not.toBeNull();

    // Used 30 seconds ago: not rewritten.
    await setLastUsed(`now() - interval '30 seconds'`);
    const recent = await lastUsed();
    await verifyToken(database.pool, token);
    expect(await lastUsed()).toEqual(recent);

    // Used two minutes ago: brought up to date.
    await setLastUsed(`now() - interval '2 minutes'`);
    const stale = await lastUsed();
    await verifyToken(database.pool, token);
    const touched = await lastUsed();
    expect(touched?.getTime()).toBeGreaterThan(stale?.getTime() ?? Number.POSITIVE_INFINITY);
  });

  it('remembers a valid token for cacheMs, and never an invalid one', async () => {
    const verify = createTokenVerifier(database.pool, { cacheMs: 60_000 });
    expect(await verify(token)).toEqual({ name: 'admin', role: 'admin' });
    const wrong = `cc_${'y'.repeat(43)}`;
    expect(await verify(wrong)).toBeNull();
    // The token's row changes owner: the verifier still answers from memory within cacheMs...
    await database.pool.query(`UPDATE auth_tokens SET role = 'viewer' WHERE name = 'admin'`);
    try {
      expect(await verify(token)).toEqual({ name: 'admin', role: 'admin' });
      // ...and a verifier that remembers nothing asks the database every time.
      expect(await createTokenVerifier(database.pool, { cacheMs: 0 })(token)).toEqual({
        name: 'admin',
        role: 'viewer',
      });
    } finally {
      await database.pool.query(`UPDATE auth_tokens SET role = 'admin' WHERE name = 'admin'`);
    }
  });

  it('is not recreated while another admin token exists under another name', async () => {
    await database.pool.query(`UPDATE auth_tokens SET name = 'ops-admin' WHERE name = 'admin'`);
    expect(await ensureAdminToken(database.pool)).toBeNull();
    await database.pool.query(`UPDATE auth_tokens SET name = 'admin' WHERE name = 'ops-admin'`);
  });
});
