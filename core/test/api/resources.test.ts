import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authed, samplePipeline, worldApi } from './helpers.js';

let app: FastifyInstance;
let world: InMemoryApiServices;
const repo = { team: 'main', pipeline: 'app', resource: 'repo' };
const resources = '/api/v1/teams/main/pipelines/app/resources';

beforeEach(async () => {
  ({ app, world } = await worldApi());
  const config = `${samplePipeline}- name: fixed\n  plan: []\n`.replace(
    'resources:\n',
    'resources:\n- name: pinned\n  type: mock\n  source: {}\n  version: { ref: v1 }\n',
  );
  await world.services.pipelines.setConfig({ team: 'main', pipeline: 'app' }, { config, by: 'admin' });
});
afterEach(async () => {
  await app.close();
});

describe('resources', () => {
  it('are listed in config order, in Concourse’s shape', async () => {
    const res = await app.inject({ method: 'GET', url: resources, headers: authed });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([
      {
        name: 'pinned',
        team_name: 'main',
        pipeline_name: 'app',
        type: 'mock',
        failing_to_check: false,
        pinned_version: { ref: 'v1' },
        pinned_in_config: true,
      },
      { name: 'repo', team_name: 'main', pipeline_name: 'app', type: 'mock', failing_to_check: false },
    ]);
  });

  it('answer 404 CC_E_API_RESOURCE_NOT_FOUND for a resource the pipeline lacks', async () => {
    const res = await app.inject({ method: 'GET', url: `${resources}/nope`, headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_RESOURCE_NOT_FOUND', details: { resource: 'nope' } });
  });
});

describe('resource versions', () => {
  it('are listed newest first, a page at a time, with Link headers', async () => {
    const stored = world.addVersions(repo, [{ ref: 'a' }, { ref: 'b' }, { ref: 'c' }]);
    const [a, b, c] = stored.map((v) => v.id);

    const first = await app.inject({
      method: 'GET',
      url: `${resources}/repo/versions?limit=2`,
      headers: authed,
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual([
      { id: c, version: { ref: 'c' }, metadata: [], enabled: true },
      { id: b, version: { ref: 'b' }, metadata: [], enabled: true },
    ]);
    expect(first.headers.link).toBe(`<${resources}/repo/versions?before=${b}&limit=2>; rel="next"`);

    const next = await app.inject({
      method: 'GET',
      url: `${resources}/repo/versions?before=${b}&limit=2`,
      headers: authed,
    });
    expect(next.json().map((v: { id: number }) => v.id)).toEqual([a]);
    expect(next.headers.link).toBe(`<${resources}/repo/versions?since=${a}&limit=2>; rel="previous"`);
  });

  it('are disabled and enabled again', async () => {
    const [version] = world.addVersions(repo, [{ ref: 'a' }]);
    const url = `${resources}/repo/versions/${version?.id}`;
    const disabled = await app.inject({ method: 'PUT', url: `${url}/disable`, headers: authed });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ id: version?.id, enabled: false });
    const enabled = await app.inject({ method: 'PUT', url: `${url}/enable`, headers: authed });
    expect(enabled.json().enabled).toBe(true);
  });

  it('answer 404 CC_E_API_RESOURCE_VERSION_NOT_FOUND for an unknown version id, 400 for a malformed one', async () => {
    const unknown = await app.inject({
      method: 'PUT',
      url: `${resources}/repo/versions/77/enable`,
      headers: authed,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({
      code: 'CC_E_API_RESOURCE_VERSION_NOT_FOUND',
      details: { versionId: 77 },
    });

    const malformed = await app.inject({
      method: 'PUT',
      url: `${resources}/repo/versions/v1/enable`,
      headers: authed,
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().details.field).toBe('params.version_id');
  });
});

describe('pins', () => {
  it('pin a resource to a version and unpin it', async () => {
    const [version] = world.addVersions(repo, [{ ref: 'a' }, { ref: 'b' }]);
    const pinned = await app.inject({
      method: 'PUT',
      url: `${resources}/repo/versions/${version?.id}/pin`,
      headers: authed,
    });
    expect(pinned.statusCode).toBe(200);
    expect(pinned.json()).toMatchObject({ name: 'repo', pinned_version: { ref: 'a' } });

    const unpinned = await app.inject({ method: 'PUT', url: `${resources}/repo/unpin`, headers: authed });
    expect(unpinned.statusCode).toBe(200);
    expect(unpinned.json().pinned_version).toBeUndefined();
  });

  it('answer 409 for a resource pinned in the config', async () => {
    const res = await app.inject({ method: 'PUT', url: `${resources}/pinned/unpin`, headers: authed });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CC_E_API_RESOURCE_PINNED_IN_CONFIG');
  });
});

describe('POST .../resources/:resource/check', () => {
  it('waits for the check and answers with the versions it reported, newest first', async () => {
    world.setNextCheck(repo, { versions: [{ ref: 'a' }, { ref: 'b' }] });
    const res = await app.inject({
      method: 'POST',
      url: `${resources}/repo/check`,
      headers: authed,
      payload: {},
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      versions: [
        { id: expect.any(Number), version: { ref: 'b' }, metadata: [], enabled: true },
        { id: expect.any(Number), version: { ref: 'a' }, metadata: [], enabled: true },
      ],
      last_checked: expect.any(Number),
    });
    const resource = await app.inject({ method: 'GET', url: `${resources}/repo`, headers: authed });
    expect(resource.json()).toMatchObject({ failing_to_check: false, last_checked: expect.any(Number) });
  });

  it('passes `from` to the checker, and takes no body at all as `{}`', async () => {
    await app.inject({
      method: 'POST',
      url: `${resources}/repo/check`,
      headers: authed,
      payload: { from: { ref: 'abc' } },
    });
    await app.inject({ method: 'POST', url: `${resources}/repo/check`, headers: authed });
    expect(world.checkCalls).toEqual([{ ref: 'abc' }, undefined]);
  });

  it('answers CC_E_API_CHECK_FAILED with the check’s own message when the check fails', async () => {
    world.setNextCheck(repo, { error: 'git ls-remote: repository not found' });
    const res = await app.inject({
      method: 'POST',
      url: `${resources}/repo/check`,
      headers: authed,
      payload: {},
    });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({
      code: 'CC_E_API_CHECK_FAILED',
      message: expect.stringContaining('git ls-remote: repository not found'),
      details: { checkError: 'git ls-remote: repository not found' },
    });
    const resource = await app.inject({ method: 'GET', url: `${resources}/repo`, headers: authed });
    expect(resource.json()).toMatchObject({
      failing_to_check: true,
      check_error: 'git ls-remote: repository not found',
    });
  });

  it.each([
    ['a version that is not a flat map of strings', { from: { ref: 1 } }, 'body.from.ref'],
    ['an unknown field', { shallow: true }, 'body.shallow'],
  ])('answers 400 for %s', async (_, payload, field) => {
    const res = await app.inject({
      method: 'POST',
      url: `${resources}/repo/check`,
      headers: authed,
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field } });
  });

  it('answers 404 for a resource the pipeline lacks', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${resources}/nope/check`,
      headers: authed,
      payload: {},
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('CC_E_API_RESOURCE_NOT_FOUND');
  });
});
