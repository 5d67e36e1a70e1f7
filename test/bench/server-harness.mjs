// Starts a real Conveyor server in-process for benchmarks (embedded Postgres in a temp dir, the
// built-in plugins), with a small API client.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '@conveyor/core/server';

const pluginsDir = fileURLToPath(new URL('../../plugins/', import.meta.url));
const builtins = ['runtime-local', 'volume-naive', 'credentials-env', 'resource-mock'].map((p) =>
  join(pluginsDir, p),
);

export async function benchServer(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
  chmodSync(dir, 0o755);
  const server = await startServer({
    dataDir: join(dir, 'data'),
    port: 0,
    host: '127.0.0.1',
    builtinPluginDirs: builtins,
    logStream: { write() {} },
    ...options,
  });
  const headers = { authorization: `Bearer ${server.adminToken}` };
  const api = async (method, path, body) => {
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    server,
    api,
    headers,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
