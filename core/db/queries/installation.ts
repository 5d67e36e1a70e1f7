import type { Queryable } from '../pool.js';

/** This installation's identity (made by the migrations, once): 16 lowercase hex characters. */
export async function installationId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM installation');
  const id = rows[0]?.id;
  if (id === undefined) throw new Error('the database has no installation id: were its migrations run?');
  return id;
}
