import pg from 'pg';

/** A connection pool to Conveyor's database. */
export type Pool = pg.Pool;
/** One connection checked out of a pool (for transactions). */
export type PoolClient = pg.PoolClient;
/** Anything a single query can run on: the pool itself, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

export interface PoolOptions {
  /** Most connections open at once. Default 10. */
  max?: number;
  /** How long a query may wait for a connection (to open, or to come free) before failing. Default 30 s. */
  connectionTimeoutMillis?: number;
  /** Shown in `pg_stat_activity.application_name`. Default `conveyor`. */
  applicationName?: string;
  /**
   * Receives errors of idle connections (the server restarted, the network dropped one). The pool
   * drops such a connection and opens a new one for the next query. Default: ignored.
   */
  onError?: (error: Error) => void;
}

const INT8_OID = 20;

/**
 * bigint columns (ids, counts) come back as JavaScript numbers rather than pg's default strings.
 * Identity values and counts stay far below 2^53; a value that does not is an error, never a
 * silently rounded id.
 */
function parseInt8(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint ${value} does not fit a JavaScript number`);
  return parsed;
}

// Per pool rather than pg.types.setTypeParser, which would change every pg user in the process.
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Creates a pg Pool for `url`. An idle connection that fails emits 'error' on the pool, which
 * would crash the process without a listener, so one is always attached.
 */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const onError = options.onError ?? (() => {});
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 30_000,
    application_name: options.applicationName ?? 'conveyor',
    types,
  });
  pool.on('error', (error) => onError(error));
  return pool;
}
