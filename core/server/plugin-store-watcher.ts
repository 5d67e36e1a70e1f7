import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from '../db/index.js';
import { syncInstalledPlugins } from '../db/index.js';
import { toError } from '../errors/index.js';
import type { PluginHost } from '../plugins/index.js';

export interface PluginStoreWatcherOptions {
  plugins: PluginHost;
  pool: Pool;
  /** The plugin store: `<dir>/<name>/<version>/`. */
  dir: string;
  intervalMs: number;
  log: (line: string) => void;
  onError?: ((error: Error) => void) | undefined;
}

/**
 * Picks up plugins installed (or removed) while the server runs, without a restart: looks at the
 * store every `intervalMs` and, when what it holds changed, rescans the plugin host and records
 * the plugins in the database. Pools already running keep their version, so a running build keeps
 * the plugin it started with; new calls resolve against what is installed now.
 */
export function watchPluginStore(options: PluginStoreWatcherOptions): { stop(): Promise<void> } {
  let last: string | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;

  const look = async () => {
    const now = await fingerprint(options.dir);
    if (last === undefined) {
      last = now;
      return;
    }
    if (now === last) return;
    last = now;
    const before = new Set(options.plugins.list().map((p) => `${p.name}@${p.version}`));
    await options.plugins.rescan();
    const after = options.plugins.list();
    await recordPlugins(options.pool, options.plugins);
    const added = after.map((p) => `${p.name}@${p.version}`).filter((id) => !before.has(id));
    const gone = [...before].filter((id) => !after.some((p) => `${p.name}@${p.version}` === id));
    if (added.length) options.log(`plugins: picked up ${added.join(', ')}`);
    if (gone.length) options.log(`plugins: no longer installed: ${gone.join(', ')}`);
    for (const refused of options.plugins.refused())
      options.log(`plugin refused [${refused.code}]: ${refused.message}`);
  };

  const timer = setInterval(() => {
    if (stopped || running) return;
    running = look()
      .catch((error: unknown) => options.onError?.(toError(error)))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  // The first look only learns what is there.
  running = look()
    .catch((error: unknown) => options.onError?.(toError(error)))
    .finally(() => {
      running = undefined;
    });

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** `<name>/<version>` of every package in the store with its directory's mtime: cheap to compare. */
async function fingerprint(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries: string[] = [];
  for (const name of names.sort()) {
    const versions = await readdir(join(dir, name)).catch(() => [] as string[]);
    for (const version of versions.sort()) {
      const info = await stat(join(dir, name, version)).catch(() => undefined);
      if (info?.isDirectory()) entries.push(`${name}/${version}@${info.mtimeMs}`);
    }
  }
  return entries.join('\n');
}

/** Records in the database the plugins the host has found (what `cc plugin list` shows). */
export async function recordPlugins(pool: Pool, plugins: PluginHost): Promise<void> {
  await syncInstalledPlugins(
    pool,
    plugins.list().map((p) => ({
      name: p.name,
      version: p.version,
      kind: p.kind,
      apiVersion: p.apiVersion,
      source: p.source,
      path: p.path,
    })),
  );
}
