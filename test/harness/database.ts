import { randomBytes } from 'node:crypto';
import { createPool, type Pool } from '@conveyor/core/db';
import { inject } from 'vitest';
import { databaseUrl, TEMPLATE_DATABASE, withAdminClient } from './postgres.js';

export interface TestDatabase {
  /** URL of this test's own database. */
  readonly url: string;
  readonly pool: Pool;
  /** Ends the pool and drops the database. Safe to call more than once. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** false: an empty database, for testing migrations themselves. Default true: fully migrated. */
  migrated?: boolean;
}

/** SQLSTATE 55006 object_in_use: the template had a visitor for a moment; try again. */
const TEMPLATE_BUSY = '55006';
const CREATE_ATTEMPTS = 5;

/**
 * A database of its own for one test file, cloned from the migrated template that the global
 * setup made (a file copy: far faster than migrating again). Create it in beforeAll, drop it in
 * afterAll.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `conveyor_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const template = options.migrated === false ? 'template0' : TEMPLATE_DATABASE;
  await withAdminClient(adminUrl, async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        return;
      } catch (error: unknown) {
        const code = (error as { code?: unknown }).code;
        if (code !== TEMPLATE_BUSY || attempt === CREATE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  });

  const url = databaseUrl(adminUrl, name);
  const pool = createPool(url);
  let dropping: Promise<void> | undefined;
  return {
    url,
    pool,
    drop() {
      dropping ??= (async () => {
        await pool.end();
        await withAdminClient(adminUrl, (client) =>
          client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
        );
      })();
      return dropping;
    },
  };
}
