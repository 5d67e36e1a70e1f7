import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isConveyorError } from '@conveyor/core';
import { startServer } from '@conveyor/core/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const builtinPluginDirs = ['runtime-local', 'volume-naive', 'credentials-env', 'resource-mock'].map((p) =>
  fileURLToPath(new URL(`../../../plugins/${p}/`, import.meta.url)),
);

describe('startServer', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-server-'));
    // The embedded Postgres runs as the user postgres, which must be able to enter the data dir.
    await chmod(home, 0o755);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}) =>
    startServer({
      dataDir: join(home, 'data'),
      host: '127.0.0.1',
      port: 0,
      builtinPluginDirs,
      env,
      logStream: { write() {} },
    });

  it('fails at start when the configured runtime is not installed, and leaves nothing running', async () => {
    const error = await start({ CONVEYOR_RUNTIME: 'containerd' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConveyorError(error, 'CC_E_PLUGIN_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain(
      'configuration `runtime`: no runtime plugin named "containerd"',
    );

    // The failed start stopped its embedded Postgres: the data dir is free for the next start.
    const server = await start();
    try {
      expect(server.adminToken).toMatch(/^cc_/);
      const health = await fetch(`${server.url}/api/v1/health`);
      expect(health.status).toBe(200);
      const unauthorized = await fetch(`${server.url}/api/v1/plugins`);
      expect(unauthorized.status).toBe(401);
      const plugins = await fetch(`${server.url}/api/v1/plugins`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      });
      const body = (await plugins.json()) as { plugins: Array<{ name: string; kind: string }> };
      expect(body.plugins.map((p) => `${p.kind}/${p.name}`).sort()).toEqual([
        'credentials/env',
        'resource-type/mock',
        'runtime/local',
        'volume/naive',
      ]);
    } finally {
      await server.close();
    }

    // A second start of the same data dir keeps the first one's token and creates none.
    const again = await start();
    try {
      expect(again.adminToken).toBeNull();
    } finally {
      await again.close();
    }
  });
});
