import { chmod, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from './paths.js';

/**
 * Remove a directory tree, making read-only directories writable first when removal is refused
 * (a step may leave `chmod -R a-w` behind; root does not care, other users do).
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    if (!isErrno(error, 'EACCES') && !isErrno(error, 'EPERM')) throw error;
    await makeWritable(path);
    await rm(path, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}
