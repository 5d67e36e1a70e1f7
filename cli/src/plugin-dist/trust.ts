/**
 * Trusted publishers: the public keys whose signatures `cc plugin install` accepts. They live in
 * `<data dir>/trusted-publishers.json` (`{ "publishers": [{ "name", "publicKey": PEM }] }`) and
 * may be added per invocation with `--trust KEY.pub`.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../errors/index.js';
import { keyIdOf, publicKeyFromPem, readPublicKey } from './signing.js';

export const TRUSTED_PUBLISHERS_FILE = 'trusted-publishers.json';

export interface TrustedKey {
  /** Who the key belongs to, for messages: the publisher's name or the key file. */
  name: string;
  key: KeyObject;
}

/** Trusted keys by key id. */
export type TrustStore = Map<string, TrustedKey>;

export async function loadTrustStore(dataDir: string, extraKeyFiles: readonly string[]): Promise<TrustStore> {
  const store: TrustStore = new Map();
  const file = join(dataDir, TRUSTED_PUBLISHERS_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError('CC_E_CLI_PLUGIN_KEY_INVALID', `cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (text !== undefined) {
    let publishers: unknown;
    try {
      publishers = (JSON.parse(text) as { publishers?: unknown }).publishers;
    } catch (error) {
      throw new CliError('CC_E_CLI_PLUGIN_KEY_INVALID', `${file}: not JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!Array.isArray(publishers)) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_KEY_INVALID',
        `${file}: expected { "publishers": [{ "name", "publicKey" }] }`,
      );
    }
    publishers.forEach((entry: { name?: unknown; publicKey?: unknown }, i) => {
      if (typeof entry?.name !== 'string' || typeof entry.publicKey !== 'string') {
        throw new CliError(
          'CC_E_CLI_PLUGIN_KEY_INVALID',
          `${file}: publishers[${i}] needs a "name" and a PEM "publicKey"`,
        );
      }
      const key = publicKeyFromPem(entry.publicKey, `${file}: publishers[${i}]`);
      store.set(keyIdOf(key), { name: entry.name, key });
    });
  }
  for (const keyFile of extraKeyFiles) {
    const key = await readPublicKey(keyFile);
    store.set(keyIdOf(key), { name: keyFile, key });
  }
  return store;
}
