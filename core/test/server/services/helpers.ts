import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Checker, type CheckResourceFn, startChecker } from '@conveyor/core/checker';
import type { Pool } from '@conveyor/core/db';
import { ConveyorError } from '@conveyor/core/errors';
import { closeBuildEventSubscriptions } from '@conveyor/core/events';
import { type PluginClient, PluginHost } from '@conveyor/core/plugins';
// createApiServices is the composition root's, not (yet) on @conveyor/core/server's surface.
import { type ApiServices, createApiServices, pipelineCredentialManagers } from '@conveyor/core/server';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { expect } from 'vitest';

const pluginDir = (name: string) => fileURLToPath(new URL(`../../../../plugins/${name}/`, import.meta.url));

/**
 * Everything the services run on, real: Postgres, the plugin host, the checker, a volume driver
 * and the local runtime.
 */
export interface ServicesWorld {
  services: ApiServices;
  pool: Pool;
  databaseUrl: string;
  host: PluginHost;
  volumes: PluginClient<'volume'>;
  /** Where the naive driver keeps its volumes (`<root>/<handle>/...`). */
  volumesRoot: string;
  runtime: PluginClient<'runtime'>;
  /**
   * Where the local runtime keeps its containers (`<root>/<handle>/workdir` is the container's
   * `/`); unused with another runtime.
   */
  runtimeRoot: string;
  checker: Checker;
  close(): Promise<void>;
}

/**
 * The prefix of the environment variables the world's credential manager (the env plugin) reads:
 * `((name))` resolves from `CCTEST_SERVICES_VAR_NAME` (set before the world starts: plugin
 * workers copy the environment when they start).
 */
export const SERVICES_VAR_PREFIX = 'CCTEST_SERVICES_VAR_';

export interface WorldOptions {
  /** The runtime the services use instead of the local one: its package directory and configuration. */
  runtime?: { dir: string; name: string; config: Record<string, unknown> };
}

export async function startWorld(options: WorldOptions = {}): Promise<ServicesWorld> {
  const database: TestDatabase = await createTestDatabase();
  const host = await PluginHost.create({
    builtinDirs: [
      pluginDir('resource-mock'),
      pluginDir('volume-naive'),
      pluginDir('runtime-local'),
      pluginDir('credentials-env'),
      ...(options.runtime ? [options.runtime.dir] : []),
    ],
    callTimeoutMs: 30_000,
  });
  const volumesRoot = await mkdtemp(join(tmpdir(), 'conveyor-services-volumes-'));
  const volumes = host.client('volume', 'naive', { root: volumesRoot });
  const runtimeRoot = await mkdtemp(join(tmpdir(), 'conveyor-services-containers-'));
  const runtime = options.runtime
    ? host.client('runtime', options.runtime.name, options.runtime.config)
    : host.client('runtime', 'local', { root: runtimeRoot });
  // Checks through the resource-type plugin the resource names, as the server does.
  const checkResource: CheckResourceFn = async (target, lastVersion, { signal }) => {
    const { versions } = await host
      .client('resource-type', target.type)
      .call('check', { source: target.source, ...(lastVersion ? { version: lastVersion } : {}) }, { signal });
    return versions;
  };
  // Its loop stays out of the way: checks run only when a test asks for one.
  const checker = startChecker({
    pool: database.pool,
    owner: 'services-test',
    checkResource,
    intervalMs: 3_600_000,
  });
  const services = createApiServices({
    pool: database.pool,
    databaseUrl: database.url,
    plugins: host,
    checker,
    credentialManagers: (pipeline) =>
      pipelineCredentialManagers(
        host,
        { credentials: [{ client: host.client('credentials', 'env', { prefix: SERVICES_VAR_PREFIX }) }] },
        pipeline,
      ),
    volumes,
    runtime,
  });
  return {
    services,
    pool: database.pool,
    databaseUrl: database.url,
    host,
    volumes,
    volumesRoot,
    runtime,
    runtimeRoot,
    checker,
    async close() {
      await checker.stop();
      await closeBuildEventSubscriptions();
      await host.close();
      await database.drop();
      await rm(volumesRoot, { recursive: true, force: true });
      await rm(runtimeRoot, { recursive: true, force: true });
    },
  };
}

/** The rejection of `promise`, which must reject with a ConveyorError. */
export async function rejectionOf(promise: Promise<unknown>): Promise<ConveyorError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConveyorError);
  return error as ConveyorError;
}

/** A tar stream of `dir`, as `tar -c -C DIR .` (what `cc execute` uploads) writes it. */
export function tarOf(dir: string): Readable {
  const child = spawn('tar', ['-c', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Piped at once: Node drops what an exited child's unread stdout still holds.
  return child.stdout.pipe(new PassThrough());
}

/** Extracts a tar stream into `dir` with the system's tar. */
export async function untar(tar: Readable, dir: string): Promise<void> {
  const child = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  tar.pipe(child.stdin);
  expect(await exited).toBe(0);
}

/** Sets a pipeline through the service and unpauses it. */
export async function setPipeline(world: ServicesWorld, name: string, config: string): Promise<void> {
  await world.services.pipelines.setConfig({ team: 'main', pipeline: name }, { config, by: 'tester' });
  await world.services.pipelines.unpause({ team: 'main', pipeline: name });
}
