import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../errors/index.js';

export const STORE_LOCK_FILE = '.cc-plugin.lock';
const kWaitMs = 60_000;
const kPollMs = 100;

/**
 * Runs `fn` holding the store's lock (a file created with O_EXCL holding our pid), so two installs
 * into one store never lose each other's lock file entries. A lock whose process is gone is stale
 * and taken over.
 */
export async function withStoreLock<T>(store: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(store, { recursive: true });
  const file = join(store, STORE_LOCK_FILE);
  const deadline = Date.now() + kWaitMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && !alive(holder)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_STORE_BUSY',
        `${file} is held by process ${holder}; nothing was changed`,
        {
          details: { file, pid: holder },
        },
      );
    }
    await sleep(kPollMs);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
