import { toError } from '../../errors/index.js';
import type { Pool, PoolClient } from '../pool.js';

/**
 * Runs `body` in a transaction on a connection of its own. Takes a Pool, never a client, so a
 * transaction is never opened inside another one by mistake (a nested BEGIN would only warn, and
 * the inner COMMIT would commit the outer work).
 */
export async function withTransaction<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // Set when the connection may be left inside a transaction: it is destroyed, never reused.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await body(client);
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = toError(rollbackError);
      });
      throw error;
    }
    await client.query('COMMIT').catch((commitError: unknown) => {
      broken = toError(commitError);
      throw commitError;
    });
    return result;
  } finally {
    client.release(broken);
  }
}
