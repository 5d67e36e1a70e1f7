import { buildOpenApiDocument } from '@conveyor/core/api';
import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, samplePipeline, worldApi } from './helpers.js';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
interface Operation {
  security?: unknown[];
}

/** Every operation of the document that requires a token, with its path filled in. */
async function protectedRoutes(): Promise<Array<{ method: Method; url: string; template: string }>> {
  const doc = await buildOpenApiDocument();
  const paths = doc.paths as Record<string, Partial<Record<Lowercase<Method>, Operation>>>;
  const values: Record<string, string> = {
    id: '1',
    version_id: '1',
    build_name: '1',
    pipeline: 'app',
    team: 'main',
  };
  return Object.entries(paths).flatMap(([template, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => operation?.security === undefined)
      .map(([method, _]) => ({
        method: method.toUpperCase() as Method,
        template,
        url: template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x'),
      })),
  );
}

const routes = await protectedRoutes();
let app: FastifyInstance;
let world: InMemoryApiServices;
beforeAll(async () => {
  ({ app, world } = await worldApi());
  // Data behind every path, so that a route which skipped auth would answer 2xx, not 404.
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: samplePipeline, by: 'a' },
  );
  world.createJobBuild({ team: 'main', pipeline: 'app', job: 'unit' });
});
afterAll(async () => {
  await app.close();
});

describe('every route but the public ones', () => {
  it('is in the document: all the pipeline, job, build and resource routes', () => {
    expect(routes.length).toBeGreaterThanOrEqual(29);
    expect(routes.map((r) => `${r.method} ${r.template}`)).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/teams/{team}/pipelines/{pipeline}/config',
        'GET /api/v1/builds/{id}/events',
        'PUT /api/v1/builds/{id}/inputs/{name}',
        'POST /api/v1/teams/{team}/pipelines/{pipeline}/resources/{resource}/check',
      ]),
    );
  });

  it.each(routes)('answers 401 to $method $template without a token', async ({ method, url }) => {
    const res = await app.inject({ method, url });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('CC_E_API_UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it.each(routes)('answers 401 to $method $template with an unknown token', async ({ method, url }) => {
    const res = await app.inject({ method, url, headers: bearer('cc_wrong_0d9e8f7a6b5c') });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('CC_E_API_UNAUTHORIZED');
  });
});
