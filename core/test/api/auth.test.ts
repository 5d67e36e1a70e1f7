import { buildApi } from '@conveyor/core/api';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, goodToken, plugins, testDeps } from './helpers.js';

let app: FastifyInstance;
beforeEach(async () => {
  app = await buildApi(testDeps());
});
afterEach(async () => {
  await app.close();
});

describe('token auth', () => {
  it('answers 401 without a token, with the error shape and a Bearer challenge', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/plugins' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(res.json()).toEqual({
      code: 'CC_E_API_UNAUTHORIZED',
      message: expect.stringContaining('missing'),
    });
  });

  it('answers 401 with a wrong token and never echoes it', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/plugins', headers: bearer('not-the-token') });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="conveyor", error="invalid_token"');
    expect(res.json().code).toBe('CC_E_API_UNAUTHORIZED');
    expect(res.body).not.toContain('not-the-token');
  });

  it.each([
    ['another scheme', `Basic ${goodToken}`],
    ['no token after the scheme', 'Bearer '],
    ['two tokens', `Bearer ${goodToken} ${goodToken}`],
  ])('answers 401 for an Authorization header with %s', async (_, authorization) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/plugins', headers: { authorization } });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('CC_E_API_UNAUTHORIZED');
  });

  it('answers 200 with the right token, whatever the case of the scheme', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/plugins',
        headers: { authorization: `${scheme} ${goodToken}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ plugins });
    }
  });

  it('leaves the public routes open', async () => {
    const info = await app.inject({ method: 'GET', url: '/api/v1/info' });
    expect(info.statusCode).toBe(200);
    expect(info.json()).toEqual({ version: '0.1.0', pluginApiVersion: '1.0.0' });

    const health = await app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });

    const openapi = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(openapi.statusCode).toBe(200);
    expect(openapi.json().openapi).toMatch(/^3\./);
  });

  it('protects a route added after buildApi unless its config marks it public, and names the principal', async () => {
    app.get('/api/v1/whoami', async (request) => request.principal);
    app.get('/api/v1/open', { config: { public: true } }, async (request) => ({
      principal: request.principal,
    }));

    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami' })).statusCode).toBe(401);
    const me = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: bearer(goodToken) });
    expect(me.json()).toEqual({ name: 'admin', role: 'admin' });
    const open = await app.inject({ method: 'GET', url: '/api/v1/open' });
    expect(open.json()).toEqual({ principal: null });
  });

  it('answers 500 CC_E_INTERNAL when the token store fails, without its message', async () => {
    const failing = await buildApi(
      testDeps({
        verifyToken: async () => {
          throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
        },
      }),
    );
    try {
      const res = await failing.inject({ method: 'GET', url: '/api/v1/plugins', headers: bearer(goodToken) });
      expect(res.statusCode).toBe(500);
      expect(res.json().code).toBe('CC_E_INTERNAL');
      expect(res.body).not.toContain('hunter2');
      expect(res.body).not.toContain('ECONNREFUSED');
    } finally {
      await failing.close();
    }
  });
});
