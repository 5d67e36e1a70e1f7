import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Write `text` to conveyor.yaml in a fresh temporary directory, removed after the test. */
export async function writeConfig(text: string, name = 'conveyor.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-config-'));
  dirs.push(dir);
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** The rejection of a promise that must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
