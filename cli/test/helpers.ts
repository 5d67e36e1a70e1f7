import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiDeps, buildApi, type PluginSummary } from '@conveyor/core/api';
import { samplePluginSummaries } from '@conveyor/test/harness/plugin-summaries.js';

const runJs = fileURLToPath(new URL('../bin/run.js', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CcResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `cc` binary in a child process. Asynchronously: the API server the test talks to
 * lives in this process, and a synchronous spawn would block it from answering.
 */
export function cc(args: string[], env: Record<string, string> = {}): Promise<CcResult> {
  // The developer's own CONVEYOR_* settings must not leak into the test.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [runJs, ...args],
      { env: { ...base, NO_COLOR: '1', FORCE_COLOR: '0', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function tempHome(): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'cc-home-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

export const adminToken = 'cc_admin_4b1d2c3e4f5a6b7c8d9e';

export const plugins: PluginSummary[] = samplePluginSummaries;

/** A real API server on a loopback port, with simple deps. */
export async function startApi(
  overrides: Partial<ApiDeps> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const app = await buildApi({
    verifyToken: async (token) => (token === adminToken ? { name: 'admin', role: 'admin' } : null),
    listPlugins: async () => plugins,
    info: { version: '0.1.0', pluginApiVersion: '1.0.0' },
    ...overrides,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** A loopback URL where nothing listens: a port that was free a moment ago. */
export async function deadUrl(): Promise<string> {
  const api = await startApi();
  await api.close();
  return api.url;
}
