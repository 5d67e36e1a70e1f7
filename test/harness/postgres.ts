import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool, migrate, startEmbeddedPostgres } from '@conveyor/core/db';
import pg from 'pg';

/** The migrated database every test database is cloned from. */
export const TEMPLATE_DATABASE = 'conveyor_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test Postgres server, as a user that may create databases (see createTestDatabase). */
    postgresAdminUrl: string;
  }
}

export interface TestPostgres {
  /** URL of the server's `postgres` database as its superuser. */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the one Postgres server a vitest run shares and creates the migrated template database.
 * With CONVEYOR_TEST_DATABASE_URL set, that server is used instead and nothing is started.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.CONVEYOR_TEST_DATABASE_URL;
  if (external !== undefined && external !== '') {
    await createTemplate(external);
    return { adminUrl: external, stop: async () => {} };
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'conveyor-test-postgres-'));
  // mkdtemp makes the directory 0700; the postgres system user has to traverse it.
  await chmod(dataDir, 0o755);
  try {
    const server = await startEmbeddedPostgres({
      dataDir,
      // Durability buys nothing in a throwaway cluster and costs a lot of fsyncs.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    const adminUrl = databaseUrl(server.url, 'postgres');
    await createTemplate(adminUrl).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    return {
      adminUrl,
      async stop() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error: unknown) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The same server, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Runs `body` on a short-lived connection to the admin database. */
export async function withAdminClient<T>(
  adminUrl: string,
  body: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

async function createTemplate(adminUrl: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    // A template left over from an earlier run against an external server is rebuilt from scratch.
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE} TEMPLATE template0`);
  });
  const pool = createPool(databaseUrl(adminUrl, TEMPLATE_DATABASE));
  try {
    await migrate(pool);
  } finally {
    // CREATE DATABASE … TEMPLATE refuses while anyone is connected to the template.
    await pool.end();
  }
}
