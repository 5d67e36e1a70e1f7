import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConveyorError, toError } from '../errors/index.js';
import type { Pool, PoolClient } from './pool.js';

/**
 * The shipped migrations, resolved from the compiled file (core/dist/db/migrate.js) to the SQL
 * files next to the sources (core/db/migrations/), which the package publishes as they are.
 */
const MIGRATIONS_DIR = new URL('../../db/migrations/', import.meta.url);

/** `000001_init.sql`: six digits, an underscore, a name. */
const MIGRATION_FILE = /^(\d{6})_([a-z0-9][a-z0-9_-]*)\.sql$/;

/** Serialises every migrating Conveyor on one database (an arbitrary key: 'Conveyor' in ASCII). */
const MIGRATION_LOCK_KEY = '4859223977743708018';

interface Migration {
  readonly id: number;
  /** The file name, e.g. `000001_init.sql`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file's bytes, hex. */
  readonly sha256: string;
}

export interface MigrateOptions {
  /** Where the migration files are. Default: the ones shipped with Conveyor. */
  directory?: URL | string;
}

export interface MigrateResult {
  /** The migrations this call applied, in order; empty when the database was up to date. */
  readonly applied: ReadonlyArray<{ readonly id: number; readonly name: string }>;
}

/**
 * Brings the database up to date. Each pending migration runs in its own transaction that first
 * takes a transaction-scoped advisory lock and writes its row in the migration log, so that
 * Conveyor processes starting together apply each migration exactly once and a failed migration
 * leaves no trace. Refuses to run when a migration the database ran was edited since
 * (CC_E_DB_MIGRATION_EDITED) or when the database knows migrations this code does not
 * (CC_E_DB_SCHEMA_NEWER).
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(options.directory ?? MIGRATIONS_DIR);
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const done = await checkLog(client, migrations);
    const applied: Array<{ id: number; name: string }> = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      if (await applyMigration(client, migration)) applied.push({ id: migration.id, name: migration.name });
    }
    return { applied };
  } catch (error: unknown) {
    failure = toError(error);
    throw error;
  } finally {
    // After a failure the connection may still be inside a transaction: destroy it, never reuse it.
    client.release(failure);
  }
}

/** Reads and checks the migration files: a gap-free sequence 1, 2, 3, ... */
async function loadMigrations(directory: URL | string): Promise<Migration[]> {
  const dir = typeof directory === 'string' ? directory : fileURLToPath(directory);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  } catch (error: unknown) {
    throw invalid(`cannot read the migrations directory ${dir}: ${toError(error).message}`, error);
  }
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (match === null) throw invalid(`${dir}/${file} is not named like 000001_name.sql`);
    const id = Number.parseInt(match[1] ?? '', 10);
    if (id !== migrations.length + 1) {
      throw invalid(
        `${dir}/${file} should be migration ${migrations.length + 1}: migrations are numbered without gaps`,
      );
    }
    const bytes = await readFile(`${dir}/${file}`);
    migrations.push({
      id,
      name: file,
      sql: bytes.toString('utf8'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  return migrations;
}

/** Creates the migration log if needed and checks it against the files; resolves the applied ids. */
async function checkLog(client: PoolClient, migrations: readonly Migration[]): Promise<Set<number>> {
  return transaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS conveyor_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        sha256 text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<MigrationLogRow>(
      'SELECT id, name, sha256 FROM conveyor_migrations ORDER BY id',
    );
    const known = new Map(migrations.map((migration) => [migration.id, migration]));
    const unknown = rows.filter((row) => !known.has(row.id));
    if (unknown.length > 0) {
      throw new ConveyorError(
        'CC_E_DB_SCHEMA_NEWER',
        `This database was migrated by a newer Conveyor: it has run ${unknown.map((row) => row.name).join(', ')}, ` +
          `which this version (latest migration ${migrations.at(-1)?.name ?? 'none'}) does not know. ` +
          'Run the newer Conveyor, or restore a backup taken before the upgrade.',
        { details: { unknown: unknown.map((row) => row.name) } },
      );
    }
    for (const row of rows) checkDigest(row, known.get(row.id));
    return new Set(rows.map((row) => row.id));
  });
}

/** Applies one migration; resolves false when another process applied it first. */
async function applyMigration(client: PoolClient, migration: Migration): Promise<boolean> {
  return transaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    const { rows } = await client.query<MigrationLogRow>(
      `INSERT INTO conveyor_migrations (id, name, sha256) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING RETURNING id, name, sha256`,
      [migration.id, migration.name, migration.sha256],
    );
    if (rows.length === 0) {
      // Someone else ran it while we waited for the lock: still, it must be the same file.
      const { rows: existing } = await client.query<MigrationLogRow>(
        'SELECT id, name, sha256 FROM conveyor_migrations WHERE id = $1',
        [migration.id],
      );
      for (const row of existing) checkDigest(row, migration);
      return false;
    }
    try {
      // No parameters: the simple query protocol, which runs a file of many statements.
      await client.query(migration.sql);
    } catch (error: unknown) {
      const code = (error as { code?: unknown }).code;
      throw new ConveyorError(
        'CC_E_DB_MIGRATION_FAILED',
        `Migration ${migration.name} failed and was rolled back: ${toError(error).message}` +
          (typeof code === 'string' ? ` (SQLSTATE ${code})` : ''),
        { cause: error, details: { migration: migration.name } },
      );
    }
    return true;
  });
}

interface MigrationLogRow {
  id: number;
  name: string;
  sha256: string;
}

function checkDigest(row: MigrationLogRow, migration: Migration | undefined): void {
  if (migration === undefined || migration.sha256 === row.sha256) return;
  throw new ConveyorError(
    'CC_E_DB_MIGRATION_EDITED',
    `Migration ${migration.name} was edited after this database ran it (sha256 ${row.sha256} when applied, ` +
      `${migration.sha256} now). Shipped migrations are append-only: restore the original file and put the change in a new migration.`,
    { details: { migration: migration.name, applied: row.sha256, current: migration.sha256 } },
  );
}

async function transaction<T>(client: PoolClient, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  let result: T;
  try {
    result = await body();
  } catch (error: unknown) {
    // If even ROLLBACK fails the caller destroys the connection; the original error is the news.
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  await client.query('COMMIT');
  return result;
}

function invalid(message: string, cause?: unknown): ConveyorError {
  return new ConveyorError(
    'CC_E_DB_MIGRATIONS_INVALID',
    `Conveyor's database migrations are broken: ${message}`,
    {
      cause,
    },
  );
}
