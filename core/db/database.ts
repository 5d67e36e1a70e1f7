import { setTimeout as sleep } from 'node:timers/promises';
import { ConveyorError, toError } from '../errors/index.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';

export interface DatabaseOptions {
  /**
   * A Postgres connection URL (the caller passes CONVEYOR_DATABASE_URL or the `database.url`
   * setting). When absent or empty, an embedded Postgres is started in `dataDir`.
   */
  url?: string | undefined;
  /** Conveyor's data directory; the embedded Postgres keeps its cluster in `<dataDir>/postgres`. */
  dataDir: string;
  /** Receives the embedded Postgres server's log lines. Default: they are dropped. */
  onLog?: ((line: string) => void) | undefined;
  /** Receives errors of idle pooled connections (the pool replaces them by itself). Default: ignored. */
  onPoolError?: ((error: Error) => void) | undefined;
}

export interface Database {
  readonly pool: Pool;
  /** The connection URL in use. It may carry a password: never log it. */
  readonly url: string;
  /** Whether Conveyor runs this Postgres itself (and stops it on close). */
  readonly embedded: boolean;
  /** Ends the pool, then stops the embedded server if there is one. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Errors worth another connection attempt, by SQLSTATE or errno. Anything else (a wrong
 * password, an unknown host, a refused connection) will not get better by waiting.
 */
const RETRYABLE: Readonly<Record<string, string>> = {
  // cannot_connect_now: the server is starting up, shutting down or in recovery.
  '57P03': 'server starting up',
  // too_many_connections: other clients may let go of theirs.
  '53300': 'too many connections',
};
const CONNECT_ATTEMPTS = 10;
const CONNECT_RETRY_DELAY_MS = 1_000;

/**
 * Opens Conveyor's database: the one at `url`, or an embedded Postgres in `dataDir`; checks that it
 * answers (CC_E_DB_UNREACHABLE naming host and port otherwise) and brings its schema up to date.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError('options.dataDir must be a non-empty string');
  }
  let server: EmbeddedPostgres | undefined;
  let url = options.url;
  if (url === undefined || url === '') {
    server = await startEmbeddedPostgres({ dataDir: options.dataDir, onLog: options.onLog });
    url = server.url;
  } else if (!URL.canParse(url)) {
    // No cause attached: the parser's error carries the input, password and all.
    throw new ConveyorError(
      'CC_E_DB_UNREACHABLE',
      'The database URL is not a valid URL; expected postgres://user:password@host:port/database.',
    );
  }
  const pool = createPool(url, { onError: options.onPoolError });
  try {
    await probe(pool, url);
    await migrate(pool);
  } catch (error: unknown) {
    await pool.end().catch(() => {});
    await server?.stop().catch(() => {});
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    pool,
    url,
    embedded: server !== undefined,
    close() {
      closing ??= (async () => {
        try {
          await pool.end();
        } finally {
          await server?.stop();
        }
      })();
      return closing;
    },
  };
}

async function probe(pool: Pool, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (error: unknown) {
      const code = errorCode(error);
      if (code !== undefined && code in RETRYABLE && attempt < CONNECT_ATTEMPTS) {
        await sleep(CONNECT_RETRY_DELAY_MS);
        continue;
      }
      const target = describeTarget(url);
      throw new ConveyorError(
        'CC_E_DB_UNREACHABLE',
        `Cannot connect to Postgres at ${target}: ${toError(error).message}${code === undefined ? '' : ` (${code})`}. ` +
          'Check that the server is running and that CONVEYOR_DATABASE_URL names the right host, port, database and credentials.',
        { cause: error, details: { target, code } },
      );
    }
  }
}

/** `host:port/database` of a connection URL, without user or password. */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    // libpq style: a Unix socket directory can come as ?host=/var/run/postgresql.
    const host = parsed.searchParams.get('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost');
    const port = parsed.searchParams.get('port') ?? (parsed.port || '5432');
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
    return `${host}:${port}${database === '' ? '' : `/${database}`}`;
  } catch {
    return 'the configured database URL (which is not a valid URL)';
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
