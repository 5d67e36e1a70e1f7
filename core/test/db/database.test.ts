import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let scratch: string;
let external: TestDatabase;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'conveyor-database-test-'));
  await chmod(scratch, 0o755);
  external = await createTestDatabase({ migrated: false });
});

afterAll(async () => {
  await external?.drop();
  await rm(scratch, { recursive: true, force: true });
});

/** A loopback port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('openDatabase', () => {
  it('uses the given URL and migrates it', async () => {
    const database = await openDatabase({ url: external.url, dataDir: path.join(scratch, 'unused') });
    try {
      expect(database.embedded).toBe(false);
      expect(database.url).toBe(external.url);
      const { rows } = await database.pool.query<{ name: string }>('SELECT name FROM teams');
      expect(rows).toEqual([{ name: 'main' }]);
    } finally {
      await database.close();
      await database.close();
    }
  });

  it('starts an embedded Postgres when no URL is given, and stops it on close', async () => {
    const database = await openDatabase({ dataDir: path.join(scratch, 'embedded') });
    let closed = false;
    try {
      expect(database.embedded).toBe(true);
      const { rows } = await database.pool.query<{ count: number }>(
        'SELECT count(*) FROM conveyor_migrations',
      );
      expect(rows[0]?.count).toBeGreaterThan(0);
      await database.close();
      closed = true;
      const reopened = await openDatabase({ dataDir: path.join(scratch, 'embedded') });
      await reopened.close();
    } finally {
      if (!closed) await database.close();
    }
  });

  it('names host and port, never the password, when the server cannot be reached', async () => {
    const port = await closedPort();
    const error = await openDatabase({
      url: `postgres://conveyor:s3cret-pw@127.0.0.1:${port}/conveyor`,
      dataDir: path.join(scratch, 'unused'),
    }).catch((caught: unknown) => caught);

    expect(isConveyorError(error, 'CC_E_DB_UNREACHABLE')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).not.toContain('s3cret-pw');
    expect(JSON.stringify((error as { details?: unknown }).details)).not.toContain('s3cret-pw');
  });
});
