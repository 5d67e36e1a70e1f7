import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, type EmbeddedPostgres, startEmbeddedPostgres } from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import { processRuns } from '@conveyor/test/harness/processes.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// These tests start servers of their own, each on its own data directory; the shared test server
// is not involved.

const coreDir = fileURLToPath(new URL('../../', import.meta.url));
const isRoot = process.getuid?.() === 0;

let scratch: string;
const servers: EmbeddedPostgres[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'conveyor-embedded-test-'));
  // mkdtemp makes 0700 directories; the postgres system user must traverse this one.
  await chmod(scratch, 0o755);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function start(dataDir: string, onLog?: (line: string) => void): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, ...(onLog === undefined ? {} : { onLog }) });
  servers.push(server);
  return server;
}

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const pool = createPool(url);
  try {
    return (await pool.query<T>(sql)).rows;
  } finally {
    await pool.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  const text = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8');
  return Number.parseInt(text.split('\n')[0] ?? '', 10);
}

describe('startEmbeddedPostgres', () => {
  it('keeps its data across a stop and a start', async () => {
    const dataDir = path.join(scratch, 'restart', 'data');
    const lines: string[] = [];
    const first = await start(dataDir, (line) => lines.push(line));
    await query(first.url, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')`);
    await first.stop();
    await first.stop();

    const second = await start(dataDir);
    expect(await query(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'still here' }]);

    const url = new URL(second.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/conveyor');
    const password = (await readFile(path.join(dataDir, 'postgres.password'), 'utf8')).trim();
    expect(decodeURIComponent(url.password)).toBe(password);
    expect((await stat(path.join(dataDir, 'postgres.password'))).mode & 0o777).toBe(0o600);
    // Postgres and initdb did log, to onLog, and never the password.
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(password);
    // Only loopback, and no Unix socket.
    expect(await query(second.url, `SELECT current_setting('listen_addresses') AS listen`)).toEqual([
      { listen: '127.0.0.1' },
    ]);
  });

  it('stops a server left running by a SIGKILLed Conveyor and starts afresh', async () => {
    const dataDir = path.join(scratch, 'stale');
    // A separate Conveyor process: it starts Postgres, writes a row, says so, then idles.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createPool, startEmbeddedPostgres } from '@conveyor/core/db';
         const server = await startEmbeddedPostgres({ dataDir: process.argv[1] });
         const pool = createPool(server.url);
         await pool.query("CREATE TABLE left_behind (note text); INSERT INTO left_behind VALUES ('committed')");
         await pool.end();
         process.stdout.write('ready\\n');
         setInterval(() => {}, 60_000);`,
        dataDir,
      ],
      { cwd: coreDir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child exited early (code ${code})`)));
    });
    const stalePid = await postmasterPid(dataDir);

    child.kill('SIGKILL');
    await exited;
    expect(processRuns(stalePid)).toBe(true);

    const server = await start(dataDir);
    expect(processRuns(stalePid)).toBe(false);
    expect(await postmasterPid(dataDir)).not.toBe(stalePid);
    expect(await query(server.url, 'SELECT note FROM left_behind')).toEqual([{ note: 'committed' }]);
  });

  it('refuses a data directory whose server another live Conveyor runs', async () => {
    const dataDir = path.join(scratch, 'in-use');
    const running = await start(dataDir);

    const error = await startEmbeddedPostgres({ dataDir }).catch((caught: unknown) => caught);
    expect(isConveyorError(error, 'CC_E_DB_DATA_DIR_IN_USE')).toBe(true);
    // And the first server is untouched.
    expect(await query(running.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  // Only root runs Postgres as another user, so only root can meet this; CI runs as root.
  if (!isRoot) {
    if (process.env.CI === 'true') throw new Error('CI must run the database tests as root');
    console.warn('SKIPPING the unreachable-data-dir test: it needs root');
  }
  it.skipIf(!isRoot)('explains a data directory the postgres user cannot reach', async () => {
    // A fresh mkdtemp directory is 0700 and owned by root.
    const locked = await mkdtemp(path.join(tmpdir(), 'conveyor-locked-'));
    try {
      const error = await startEmbeddedPostgres({ dataDir: path.join(locked, 'data') }).catch(
        (caught: unknown) => caught,
      );
      expect(isConveyorError(error, 'CC_E_DB_DATA_DIR_UNREACHABLE')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(locked);
      expect(message).toContain('0700');
      expect(message).toContain(`chmod o+x ${locked}`);
    } finally {
      await rm(locked, { recursive: true, force: true });
    }
  });
});
