import { readFile } from 'node:fs/promises';
import { buildApi, buildOpenApiDocument } from '@conveyor/core/api';
import { describe, expect, it } from 'vitest';
import { testDeps } from './helpers.js';

const checkedIn = async () =>
  JSON.parse(await readFile(new URL('../../api/openapi.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

describe('the OpenAPI document', () => {
  it('served by a live API equals the checked-in core/api/openapi.json (run scripts/gen-openapi.mjs)', async () => {
    const app = await buildApi(testDeps());
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(await checkedIn());
    } finally {
      await app.close();
    }
  });

  it('is what buildOpenApiDocument (and so the generator) produces', async () => {
    expect(await buildOpenApiDocument()).toEqual(await checkedIn());
  });

  it('declares no security on public routes and a 401 on the others', async () => {
    const doc = await buildOpenApiDocument();
    const paths = doc.paths as Record<
      string,
      { get: { security?: unknown[]; responses: Record<string, unknown> } }
    >;
    for (const route of ['/api/v1/info', '/api/v1/health']) {
      expect(paths[route]?.get.security).toEqual([]);
      expect(paths[route]?.get.responses['401']).toBeUndefined();
    }
    expect(paths['/api/v1/plugins']?.get.security).toBeUndefined();
    expect(paths['/api/v1/plugins']?.get.responses['401']).toBeDefined();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/api/v1/openapi.json']).toBeUndefined();
  });

  it('gives every operation an operationId, a summary and tags', async () => {
    const doc = await buildOpenApiDocument();
    const operations = Object.values(
      doc.paths as Record<string, Record<string, Record<string, unknown>>>,
    ).flatMap((path) => Object.values(path));
    expect(operations.length).toBeGreaterThan(30);
    for (const operation of operations) {
      expect(operation).toMatchObject({
        operationId: expect.any(String),
        summary: expect.any(String),
        tags: [expect.any(String)],
      });
    }
  });
});

describe('the API schemas', () => {
  it('list the plugin kinds of the plugin API', async () => {
    const common = JSON.parse(
      await readFile(new URL(import.meta.resolve('@conveyor/plugin-api/schemas/common.json')), 'utf8'),
    );
    const summary = JSON.parse(
      await readFile(new URL('../../api/schemas/plugin-summary.json', import.meta.url), 'utf8'),
    );
    expect(summary.properties.kind.enum).toEqual(common.$defs.PluginKind.enum);
  });
});
