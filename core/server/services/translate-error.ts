import { ConveyorError, type ErrorCode } from '../../errors/index.js';

/** How errors of the layers below become the API's own, by code. */
export type ErrorTable = Partial<Record<ErrorCode, (error: ConveyorError) => ConveyorError>>;

/**
 * The API's error for a rejection of the persistence layer, scheduler or checker: the table's
 * mapping for its code (the lower error kept as the cause), or the error itself, which already
 * carries a status and a message that says what to do.
 */
export function translateError(error: unknown, table: ErrorTable): unknown {
  if (!(error instanceof ConveyorError)) return error;
  const map = table[error.code];
  if (map === undefined) return error;
  const translated = map(error);
  return new ConveyorError(translated.code, translated.message, {
    details: translated.details,
    cause: error,
  });
}

/** Runs `body` and rejects with its rejection translated. */
export async function translating<T>(table: ErrorTable, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error: unknown) {
    throw translateError(error, table);
  }
}
