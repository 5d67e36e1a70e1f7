/**
 * What a repository name, a tag and a digest may look like (OCI Distribution 1.1 and OCI Image
 * "descriptor" grammar), and hashing by digest algorithm.
 */
import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** The spec's `<name>` grammar: path components of lower-case alphanumerics and separators. */
export const NAME_PATTERN =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** The spec's tag grammar. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** OCI Image's digest grammar; the encoded part is then checked per algorithm. */
const DIGEST_PATTERN = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
/** Distribution's limit: a longer name does not fit its storage paths either. */
const NAME_MAX = 255;

/** The registered algorithms we can verify, and the length of their lower-case hex encoding. */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

export interface Digest {
  /** `sha256:<hex>`. */
  readonly value: string;
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX && NAME_PATTERN.test(name);
}

/** The repository name of a request, or NAME_INVALID. */
export function checkName(name: string): string {
  if (!isValidName(name))
    throw new RegistryError('NAME_INVALID', `invalid repository name "${name}"`, { detail: { name } });
  return name;
}

export function isTag(reference: string): boolean {
  return TAG_PATTERN.test(reference);
}

/** Parse a digest; undefined when it is not one we can verify. */
export function parseDigest(value: string): Digest | undefined {
  const match = DIGEST_PATTERN.exec(value);
  if (!match) return undefined;
  const [, algorithm, hex] = match as unknown as [string, string, string];
  if (!Object.hasOwn(ALGORITHMS, algorithm)) return undefined;
  const length = ALGORITHMS[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { value, algorithm: algorithm as DigestAlgorithm, hex };
}

/** A digest from a request, or DIGEST_INVALID that says why. */
export function checkDigest(value: string | undefined): Digest {
  const digest = value === undefined ? undefined : parseDigest(value);
  if (!digest)
    throw new RegistryError(
      'DIGEST_INVALID',
      `invalid digest "${value ?? ''}": expected sha256:<64 hex> or sha512:<128 hex>`,
      { detail: { digest: value ?? null } },
    );
  return digest;
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
