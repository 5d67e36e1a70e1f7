import { createHash } from 'node:crypto';

/** `sha256:<hex>` of some bytes: the only digest algorithm Conveyor writes. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(value: unknown): value is string {
  return typeof value === 'string' && digestPattern.test(value);
}
