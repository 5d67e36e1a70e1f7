// Token auth of registry-mirror: grants per repository pattern, anonymous pull, the Basic
// challenge, and Distribution's Bearer token flow. Through inject(): the socket is not the point.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuthOptions, buildRegistry } from '@conveyor/registry-mirror';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, MEDIA, makeImage, sha256 } from './oci-client.js';

const ADMIN = 'admin-token';
const PUSHER = 'pusher-token';
const READER = 'reader-token';

interface Harness {
  app: FastifyInstance;
  request(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  /** Push a small image as `<repository>:v1` with the admin token. */
  seed(repository: string): Promise<string>;
  close(): Promise<void>;
}

async function registry(auth: AuthOptions): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'conveyor-registry-auth-'));
  const app = await buildRegistry({ root, auth });
  const request: Harness['request'] = ({ token, ...options }) =>
    app.inject({
      ...options,
      headers: { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
  return {
    app,
    request,
    async seed(repository) {
      const image = makeImage({ layers: 1 });
      for (const b of [...image.layers, image.config]) {
        const response = await request({
          method: 'POST',
          url: `/v2/${repository}/blobs/uploads/?digest=${b.digest}`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: b.data,
          token: ADMIN,
        });
        expect(response.statusCode).toBe(201);
      }
      const put = await request({
        method: 'PUT',
        url: `/v2/${repository}/manifests/v1`,
        headers: { 'content-type': MEDIA.ociManifest },
        payload: image.manifest.data,
        token: ADMIN,
      });
      expect(put.statusCode).toBe(201);
      return image.manifest.digest;
    },
    async close() {
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

const TOKENS: AuthOptions['tokens'] = [
  { name: 'admin', token: ADMIN, access: [{ repository: '**', actions: ['*'] }] },
  { name: 'pusher', token: PUSHER, access: [{ repository: 'plugins/*', actions: ['push'] }] },
  // A token kept as its SHA-256 only.
  {
    name: 'reader',
    sha256: createHash('sha256').update(READER).digest('hex'),
    access: [{ repository: '**', actions: ['pull'] }],
  },
];

const codes = (body: string) =>
  (JSON.parse(body) as { errors: Array<{ code: string }> }).errors.map((e) => e.code);

describe('token auth with the Basic challenge', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await registry({ tokens: TOKENS });
    await h.seed('plugins/git');
    await h.seed('internal/tool');
  });
  afterAll(() => h.close());

  it('asks for credentials at the version check, with a Basic realm', async () => {
    const response = await h.request({ method: 'GET', url: '/v2/' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Basic realm="conveyor-registry"');
    expect(codes(response.body)).toEqual(['UNAUTHORIZED']);
    expect((await h.request({ method: 'GET', url: '/v2/', token: READER })).statusCode).toBe(200);
  });

  it('lets anyone pull when tokens are configured and anonymous is left at its default', async () => {
    const response = await h.request({ method: 'GET', url: '/v2/plugins/git/manifests/v1' });
    expect(response.statusCode).toBe(200);
  });

  it('asks an anonymous pusher to authenticate', async () => {
    const response = await h.request({ method: 'POST', url: '/v2/plugins/git/blobs/uploads/' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Basic realm="conveyor-registry"');
  });

  it('takes the token as a Bearer token or as the Basic password, whatever the user name', async () => {
    for (const authorization of [`Bearer ${PUSHER}`, basicAuth('anyone', PUSHER), basicAuth('', PUSHER)]) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/v2/plugins/git/blobs/uploads/',
        headers: { authorization },
      });
      expect(response.statusCode).toBe(202);
    }
  });

  it('refuses a wrong token with 401, even where anonymous could pull', async () => {
    const response = await h.request({ method: 'GET', url: '/v2/plugins/git/manifests/v1', token: 'wrong' });
    expect(response.statusCode).toBe(401);
    expect(codes(response.body)).toEqual(['UNAUTHORIZED']);
  });

  it('grants a token what its patterns match: * within a path component only', async () => {
    const push = (repository: string) =>
      h.request({ method: 'POST', url: `/v2/${repository}/blobs/uploads/`, token: PUSHER });
    expect((await push('plugins/resource-git')).statusCode).toBe(202);
    const nested = await push('plugins/team/git');
    expect(nested.statusCode).toBe(403);
    expect(codes(nested.body)).toEqual(['DENIED']);
    expect((await push('internal/tool')).statusCode).toBe(403);
  });

  it('keeps delete apart from push', async () => {
    const digest = await h.seed('plugins/to-delete');
    const denied = await h.request({
      method: 'DELETE',
      url: `/v2/plugins/to-delete/manifests/${digest}`,
      token: PUSHER,
    });
    expect(denied.statusCode).toBe(403);
    const allowed = await h.request({
      method: 'DELETE',
      url: `/v2/plugins/to-delete/manifests/${digest}`,
      token: ADMIN,
    });
    expect(allowed.statusCode).toBe(202);
  });

  it('refuses a push to a reader', async () => {
    const response = await h.request({
      method: 'POST',
      url: '/v2/plugins/git/blobs/uploads/',
      token: READER,
    });
    expect(response.statusCode).toBe(403);
  });

  it('does not mount a blob from a repository the caller may not pull', async () => {
    const onlyPlugins = await registry({
      anonymous: 'none',
      tokens: [TOKENS[0]!, { token: PUSHER, access: [{ repository: 'plugins/*', actions: ['push'] }] }],
    });
    try {
      await onlyPlugins.seed('internal/tool');
      const layer = JSON.parse(
        (await onlyPlugins.request({ method: 'GET', url: '/v2/internal/tool/manifests/v1', token: ADMIN }))
          .body,
      ).layers[0].digest as string;
      const response = await onlyPlugins.request({
        method: 'POST',
        url: `/v2/plugins/git/blobs/uploads/?mount=${layer}&from=internal/tool`,
        token: PUSHER,
      });
      // Not 201: the mount falls back to an upload session, revealing nothing.
      expect(response.statusCode).toBe(202);
    } finally {
      await onlyPlugins.close();
    }
  });

  it('lists in the catalog only what the caller may pull', async () => {
    const pusher = await h.request({ method: 'GET', url: '/v2/_catalog', token: PUSHER });
    expect(JSON.parse(pusher.body).repositories).toEqual(['plugins/git', 'plugins/to-delete']);
    const reader = await h.request({ method: 'GET', url: '/v2/_catalog', token: READER });
    expect(JSON.parse(reader.body).repositories).toEqual([
      'internal/tool',
      'plugins/git',
      'plugins/to-delete',
    ]);
  });
});

describe('anonymous access levels', () => {
  it('none: an anonymous pull is asked to authenticate', async () => {
    const h = await registry({ tokens: TOKENS, anonymous: 'none' });
    try {
      await h.seed('plugins/git');
      const response = await h.request({ method: 'GET', url: '/v2/plugins/git/manifests/v1' });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Basic realm="conveyor-registry"');
      expect((await h.request({ method: 'GET', url: '/v2/_catalog' })).statusCode).toBe(401);
    } finally {
      await h.close();
    }
  });

  it('without tokens the registry is open, as Distribution without auth', async () => {
    const h = await registry({});
    try {
      expect((await h.request({ method: 'GET', url: '/v2/' })).statusCode).toBe(200);
      expect((await h.request({ method: 'POST', url: '/v2/anything/blobs/uploads/' })).statusCode).toBe(202);
    } finally {
      await h.close();
    }
  });
});

describe('Distribution Bearer token flow', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await registry({ tokens: TOKENS, scheme: 'bearer', anonymous: 'pull', tokenSecret: 'test-secret' });
    await h.seed('plugins/git');
  });
  afterAll(() => h.close());

  const token = async (scope: string, authorization?: string) => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/token?service=conveyor-registry&scope=${encodeURIComponent(scope)}`,
      headers: authorization ? { authorization } : {},
    });
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body) as { token: string; access_token: string; expires_in: number };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    return body.token;
  };

  it('challenges an anonymous request with realm, service and scope', async () => {
    const response = await h.app.inject({
      method: 'GET',
      url: '/v2/plugins/git/manifests/v1',
      headers: { host: 'registry.example:5000' },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="http://registry.example:5000/token",service="conveyor-registry",scope="repository:plugins/git:pull"',
    );
  });

  it('issues an anonymous token for what anonymous callers may do', async () => {
    const anonymous = await token('repository:plugins/git:pull,push');
    const pull = await h.request({ method: 'GET', url: '/v2/plugins/git/manifests/v1', token: anonymous });
    expect(pull.statusCode).toBe(200);
    const push = await h.request({ method: 'POST', url: '/v2/plugins/git/blobs/uploads/', token: anonymous });
    expect(push.statusCode).toBe(401);
    expect(push.headers['www-authenticate']).toContain('scope="repository:plugins/git:pull,push"');
    expect(push.headers['www-authenticate']).toContain('error="insufficient_scope"');
  });

  it('issues a token scoped to the repositories asked for, within the credentials grants', async () => {
    const issued = await token('repository:plugins/git:pull,push', basicAuth('ci', PUSHER));
    expect(
      (await h.request({ method: 'POST', url: '/v2/plugins/git/blobs/uploads/', token: issued })).statusCode,
    ).toBe(202);
    // Not in the scope it was issued for, though the pusher token itself could.
    expect(
      (await h.request({ method: 'POST', url: '/v2/plugins/other/blobs/uploads/', token: issued }))
        .statusCode,
    ).toBe(401);
  });

  it('refuses wrong credentials at /token and forged or foreign tokens at the API', async () => {
    const wrong = await h.app.inject({
      method: 'GET',
      url: '/token?scope=repository:plugins/git:pull',
      headers: { authorization: basicAuth('ci', 'wrong') },
    });
    expect(wrong.statusCode).toBe(401);
    const issued = await token('repository:plugins/git:pull,push', basicAuth('ci', PUSHER));
    const [payload] = issued.split('.');
    const forged = `${payload}.${randomBytes(32).toString('base64url')}`;
    expect(
      (await h.request({ method: 'POST', url: '/v2/plugins/git/blobs/uploads/', token: forged })).statusCode,
    ).toBe(401);
  });

  it('still takes a configured token directly as Bearer, but not as Basic on the API', async () => {
    expect(
      (await h.request({ method: 'POST', url: '/v2/plugins/git/blobs/uploads/', token: PUSHER })).statusCode,
    ).toBe(202);
    const basic = await h.app.inject({
      method: 'POST',
      url: '/v2/plugins/git/blobs/uploads/',
      headers: { authorization: basicAuth('ci', PUSHER) },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('answers HEAD with the status and headers of an error, without a body', async () => {
    const response = await h.app.inject({ method: 'HEAD', url: `/v2/plugins/git/blobs/${sha256('x')}` });
    expect(response.statusCode).toBe(401);
    expect(response.body).toBe('');
  });
});
