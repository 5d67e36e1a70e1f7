import { type ApiDeps, buildApi, type PluginSummary } from '@conveyor/core/api';
import { samplePluginSummaries } from '@conveyor/test/harness/plugin-summaries.js';
import type { FastifyInstance } from 'fastify';

export const goodToken = 'cc_test_7f3a9c1e5b2d4f60a8e1';

export const plugins: PluginSummary[] = samplePluginSummaries;

export function testDeps(overrides: Partial<ApiDeps> = {}): ApiDeps {
  return {
    verifyToken: async (token) => (token === goodToken ? { name: 'admin', role: 'admin' } : null),
    listPlugins: async () => plugins,
    info: { version: '0.1.0', pluginApiVersion: '1.0.0' },
    ...overrides,
  };
}

/** An API whose log lines are collected, parsed, in `lines`. */
export async function loggedApi(
  deps: ApiDeps = testDeps(),
): Promise<{ app: FastifyInstance; lines: string[] }> {
  const lines: string[] = [];
  const app = await buildApi(deps, {
    logger: { level: 'debug', stream: { write: (line) => lines.push(line) } },
  });
  return { app, lines };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
