import type { AddressInfo } from 'node:net';
import { type ApiDeps, type ApiOptions, buildApi, type PluginSummary } from '@conveyor/core/api';
import { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import { samplePluginSummaries } from '@conveyor/test/harness/plugin-summaries.js';
import type { FastifyInstance } from 'fastify';

export const goodToken = 'cc_test_7f3a9c1e5b2d4f60a8e1';

export const plugins: PluginSummary[] = samplePluginSummaries;

export function testDeps(overrides: Partial<ApiDeps> = {}): ApiDeps {
  return {
    verifyToken: async (token) => (token === goodToken ? { name: 'admin', role: 'admin' } : null),
    listPlugins: async () => plugins,
    info: { version: '0.1.0', pluginApiVersion: '1.0.0' },
    ...new InMemoryApiServices().services,
    ...overrides,
  };
}

/** An API over a fresh in-memory world, which the test drives as scheduler, checker and executor. */
export async function worldApi(
  options: ApiOptions = {},
): Promise<{ app: FastifyInstance; world: InMemoryApiServices }> {
  const world = new InMemoryApiServices();
  const app = await buildApi(testDeps(world.services), options);
  return { app, world };
}

/** The same, listening on a loopback port, for what inject() cannot do: streams that stay open. */
export async function listeningWorldApi(
  options: ApiOptions = {},
): Promise<{ app: FastifyInstance; world: InMemoryApiServices; url: string }> {
  const { app, world } = await worldApi(options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, world, url: `http://127.0.0.1:${port}` };
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
export const authed = bearer(goodToken);

/** A pipeline config with a resource, a job that gets it and a job that puts it. */
export const samplePipeline = `resources:
- name: repo
  type: mock
  source: {}

jobs:
- name: unit
  plan:
  - get: repo
    trigger: true
- name: ship
  plan:
  - get: repo
    passed: [unit]
  - put: repo
`;
