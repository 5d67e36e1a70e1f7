import { appendFile, cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const shippedDir = fileURLToPath(new URL('../../db/migrations/', import.meta.url));

let shipped: string[];
const databases: TestDatabase[] = [];
let scratch: string;

beforeAll(async () => {
  shipped = (await readdir(shippedDir)).filter((file) => file.endsWith('.sql')).sort();
  scratch = await mkdtemp(path.join(tmpdir(), 'conveyor-migrate-test-'));
});

afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrated: false });
  databases.push(database);
  return database;
}

/** A copy of the shipped migrations that a test may edit or extend. */
async function copyOfShipped(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await cp(shippedDir, dir, { recursive: true });
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('migrate', () => {
  it('applies every shipped migration in order, then nothing on a second run', async () => {
    const { pool } = await freshDatabase();

    const first = await migrate(pool);
    expect(first.applied.map((migration) => migration.name)).toEqual(shipped);

    const second = await migrate(pool);
    expect(second.applied).toEqual([]);

    const { rows } = await pool.query<{ id: number; name: string }>(
      'SELECT id, name FROM conveyor_migrations ORDER BY id',
    );
    expect(rows).toEqual(shipped.map((name, index) => ({ id: index + 1, name })));
    const teams = await pool.query<{ name: string }>('SELECT name FROM teams');
    expect(teams.rows).toEqual([{ name: 'main' }]);
  });

  it('applies each migration exactly once when five processes migrate a fresh database at once', async () => {
    const { pool } = await freshDatabase();

    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool)));

    const applied = results.flatMap((result) => result.applied.map((migration) => migration.name));
    expect(applied.sort()).toEqual(shipped);
    const { rows } = await pool.query<{ count: number }>('SELECT count(*) FROM conveyor_migrations');
    expect(rows[0]?.count).toBe(shipped.length);
  });

  it('refuses to run when a migration the database ran was edited since', async () => {
    const { pool } = await freshDatabase();
    const directory = await copyOfShipped('edited');
    await migrate(pool, { directory });

    await appendFile(path.join(directory, shipped[0] ?? ''), '\n-- an innocent-looking edit\n');

    const error = await rejection(migrate(pool, { directory }));
    expect(isConveyorError(error, 'CC_E_DB_MIGRATION_EDITED')).toBe(true);
  });

  it('refuses a database migrated by a newer Conveyor', async () => {
    const { pool } = await freshDatabase();
    await migrate(pool);
    await pool.query(
      `INSERT INTO conveyor_migrations (id, name, sha256) VALUES (999, '000999_future.sql', 'abc')`,
    );

    const error = await rejection(migrate(pool));
    expect(isConveyorError(error, 'CC_E_DB_SCHEMA_NEWER')).toBe(true);
    expect((error as Error).message).toContain('000999_future.sql');
  });

  it('rolls a failing migration back entirely, log row included', async () => {
    const { pool } = await freshDatabase();
    const directory = await copyOfShipped('failing');
    const next = String(shipped.length + 1).padStart(6, '0');
    await writeFile(
      path.join(directory, `${next}_broken.sql`),
      'CREATE TABLE half_done (id integer);\nSELECT 1 / 0;\n',
    );

    const error = await rejection(migrate(pool, { directory }));
    expect(isConveyorError(error, 'CC_E_DB_MIGRATION_FAILED')).toBe(true);

    const log = await pool.query('SELECT id FROM conveyor_migrations WHERE id = $1', [shipped.length + 1]);
    expect(log.rows).toEqual([]);
    const table = await pool.query(`SELECT to_regclass('half_done') AS oid`);
    expect(table.rows).toEqual([{ oid: null }]);
    // The shipped migrations before it were applied and stay applied.
    expect((await migrate(pool)).applied).toEqual([]);
  });

  it('refuses migration files that are not a gap-free sequence', async () => {
    const { pool } = await freshDatabase();
    const directory = await copyOfShipped('gap');
    await writeFile(path.join(directory, '000042_skipped_ahead.sql'), 'SELECT 1;\n');

    const error = await rejection(migrate(pool, { directory }));
    expect(isConveyorError(error, 'CC_E_DB_MIGRATIONS_INVALID')).toBe(true);
    const log = await pool.query(`SELECT to_regclass('conveyor_migrations') AS oid`);
    expect(log.rows).toEqual([{ oid: null }]);
  });
});
