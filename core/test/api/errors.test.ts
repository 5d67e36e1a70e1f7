import { buildApi, toErrorReply } from '@conveyor/core/api';
import { ConveyorError, registry } from '@conveyor/core/errors';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, goodToken, loggedApi, testDeps } from './helpers.js';

let app: FastifyInstance;
beforeEach(async () => {
  app = await buildApi(testDeps());
  // Routes that fail in each way a real route can, added the way core/server adds routes.
  app.get('/api/v1/test/conveyor-error', async () => {
    throw new ConveyorError('CC_E_API_NOT_FOUND', 'no pipeline "app" in team "main"', {
      details: { pipeline: 'app' },
    });
  });
  app.get('/api/v1/test/crash', async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'rows') at /srv/conveyor/db/secret.js");
  });
  app.post(
    '/api/v1/test/validated',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['team'],
          properties: { team: { type: 'string' }, limit: { type: 'integer' } },
        },
        body: {
          type: 'object',
          required: ['source'],
          properties: {
            source: { type: 'object', required: ['uri'], properties: { uri: { type: 'string' } } },
          },
        },
      },
    },
    async () => ({ ok: true }),
  );
});
afterEach(async () => {
  await app.close();
});

const authed = bearer(goodToken);

describe('the error handler', () => {
  it('answers a ConveyorError with its status, code, message and details', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/test/conveyor-error', headers: authed });
    expect(res.statusCode).toBe(registry.CC_E_API_NOT_FOUND.status);
    expect(res.json()).toEqual({
      code: 'CC_E_API_NOT_FOUND',
      message: 'no pipeline "app" in team "main"',
      details: { pipeline: 'app' },
    });
  });

  it('answers anything else with 500 CC_E_INTERNAL, logging the cause but not leaking it', async () => {
    const { app: logged, lines } = await loggedApi();
    logged.get('/api/v1/test/crash', async () => {
      throw new TypeError('reading rows at /srv/conveyor/db/secret.js');
    });
    try {
      const res = await logged.inject({ method: 'GET', url: '/api/v1/test/crash', headers: authed });
      expect(res.statusCode).toBe(500);
      const body = res.json();
      expect(body.code).toBe('CC_E_INTERNAL');
      expect(body.message).toContain(res.headers['x-request-id']);
      expect(res.body).not.toContain('secret.js');
      expect(res.body).not.toContain('TypeError');
      // The operator finds the cause in the log, under the request id the client saw.
      const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed');
      expect(failure).toMatchObject({ level: 50, reqId: res.headers['x-request-id'], code: 'CC_E_INTERNAL' });
      expect(failure.err.message).toContain('secret.js');
    } finally {
      await logged.close();
    }
  });

  it('answers a missing query field with 400 CC_E_API_BAD_REQUEST naming the field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/test/validated',
      headers: authed,
      payload: { source: { uri: 'x' } },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('CC_E_API_BAD_REQUEST');
    expect(body.details.field).toBe('querystring.team');
    expect(body.message).toContain('querystring.team');
  });

  it('names a nested body field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/test/validated?team=main',
      headers: authed,
      payload: { source: { uri: { not: 'a string' } } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'CC_E_API_BAD_REQUEST',
      details: { field: 'body.source.uri' },
    });
  });

  it('answers a body that is not JSON with 400 CC_E_API_BAD_REQUEST', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/test/validated?team=main',
      headers: { ...authed, 'content-type': 'application/json' },
      payload: '{"source": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CC_E_API_BAD_REQUEST',
      message: 'invalid request: the body is not valid JSON',
    });
  });

  it('answers a body of an unsupported media type with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/test/validated?team=main',
      headers: { ...authed, 'content-type': 'application/x-tar' },
      payload: 'tarball',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('CC_E_API_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers unknown paths with 404 CC_E_API_NOT_FOUND, with or without a token', async () => {
    for (const headers of [{}, authed]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/no-such-route?token=abc', headers });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({
        code: 'CC_E_API_NOT_FOUND',
        message: 'no route GET /api/v1/no-such-route; see /api/v1/openapi.json for the routes',
      });
    }
  });

  it('answers a method a path does not have with 404', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/plugins', headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('CC_E_API_NOT_FOUND');
  });
});

describe('toErrorReply', () => {
  it.each([
    ['a string', 'boom'],
    ['null', null],
    ['a plain object', { statusCode: 'teapot' }],
    ['a fastify server error', Object.assign(new Error('FST_ERR_REP_ALREADY_SENT'), { statusCode: 500 })],
  ])('turns %s into a 500 CC_E_INTERNAL that names the request', (_, thrown) => {
    const reply = toErrorReply(thrown, 'req-42');
    expect(reply.status).toBe(500);
    expect(reply.body.code).toBe('CC_E_INTERNAL');
    expect(reply.body.message).toContain('req-42');
    expect(reply.body.details).toBeUndefined();
  });

  it('keeps the status of every API error code in the registry', () => {
    for (const code of Object.keys(registry).filter((c) => c.startsWith('CC_E_API_'))) {
      const reply = toErrorReply(new ConveyorError(code as keyof typeof registry, 'x'), 'r');
      expect(reply.status).toBe(registry[code as keyof typeof registry].status);
      expect(reply.body.code).toBe(code);
    }
  });
});
