import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { authed, listeningWorldApi, samplePipeline, worldApi } from './helpers.js';

const task = { platform: 'linux', run: { path: 'sh', args: ['-c', 'cp -r src/. out/'] } };
const tar = (text: string) => Buffer.from(text.padEnd(1024, '\0'));

async function createBuild(app: FastifyInstance, body: Record<string, unknown> = {}) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/teams/main/builds',
    headers: authed,
    payload: { config: task, inputs: ['src'], outputs: ['out'], ...body },
  });
}

function upload(
  app: FastifyInstance,
  id: number,
  name: string,
  payload: Buffer | Readable,
  type = 'application/x-tar',
) {
  return app.inject({
    method: 'PUT',
    url: `/api/v1/builds/${id}/inputs/${name}`,
    headers: { ...authed, 'content-type': type },
    payload,
  });
}

describe('one-off builds', () => {
  let app: FastifyInstance;
  let world: InMemoryApiServices;
  beforeEach(async () => {
    ({ app, world } = await worldApi({ maxUploadBytes: 4096 }));
  });
  afterEach(async () => {
    await app.close();
  });

  it('are created pending, waiting for their inputs', async () => {
    const res = await createBuild(app, { inputs: ['src', 'ci'] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.any(Number),
      name: String(res.json().id),
      status: 'pending',
      team_name: 'main',
      created_by: 'admin',
      pending_inputs: ['src', 'ci'],
    });
  });

  it.each([
    ['no task config', { config: undefined }, 'body.config'],
    ['inputs that are not a list', { inputs: 'src' }, 'body.inputs'],
    ['an input named twice', { inputs: ['src', 'src'] }, 'body.inputs'],
    ['privileged that is not a boolean', { privileged: 'yes' }, 'body.privileged'],
    ['inputs_from without a job', { inputs_from: { pipeline: 'app' } }, 'body.inputs_from.job'],
  ])('answer 400 for %s', async (_, body, field) => {
    const res = await createBuild(app, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field } });
  });

  it('answer 404 for an unknown team, or inputs_from a job that does not exist', async () => {
    const team = await app.inject({
      method: 'POST',
      url: '/api/v1/teams/nobody/builds',
      headers: authed,
      payload: { config: task, inputs: [], outputs: [] },
    });
    expect(team.statusCode).toBe(404);
    expect(team.json().code).toBe('CC_E_API_TEAM_NOT_FOUND');

    await world.services.pipelines.setConfig(
      { team: 'main', pipeline: 'app' },
      { config: samplePipeline, by: 'a' },
    );
    const job = await createBuild(app, { inputs_from: { pipeline: 'app', job: 'nope' } });
    expect(job.statusCode).toBe(404);
    expect(job.json().code).toBe('CC_E_API_JOB_NOT_FOUND');
  });

  it('take each input as a tar body, start once all are there, and give their outputs back', async () => {
    const { id } = (await createBuild(app, { inputs: ['src', 'ci'] })).json();

    const early = await app.inject({ method: 'POST', url: `/api/v1/builds/${id}/start`, headers: authed });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({
      code: 'CC_E_API_BUILD_INPUTS_MISSING',
      details: { missing: ['src', 'ci'] },
    });

    const src = await upload(app, id, 'src', tar('src files'));
    expect(src.statusCode).toBe(200);
    expect(src.json()).toMatchObject({ id, status: 'pending', pending_inputs: ['ci'] });
    expect(world.uploadedInput(id, 'src')).toEqual(tar('src files'));
    // A streamed body (no Content-Length) arrives whole too.
    const ci = await upload(app, id, 'ci', Readable.from([tar('ci part 1'), tar('ci part 2')]));
    expect(ci.json().pending_inputs).toEqual([]);
    expect(world.uploadedInput(id, 'ci')).toEqual(Buffer.concat([tar('ci part 1'), tar('ci part 2')]));

    const started = await app.inject({ method: 'POST', url: `/api/v1/builds/${id}/start`, headers: authed });
    expect(started.statusCode).toBe(200);
    expect(started.json()).toMatchObject({ id, status: 'started', start_time: expect.any(Number) });

    const tooLate = await upload(app, id, 'src', tar('more'));
    expect(tooLate.statusCode).toBe(409);
    expect(tooLate.json().code).toBe('CC_E_API_BUILD_NOT_PENDING');

    const unfinished = await app.inject({
      method: 'GET',
      url: `/api/v1/builds/${id}/outputs/out`,
      headers: authed,
    });
    expect(unfinished.statusCode).toBe(409);
    expect(unfinished.json().code).toBe('CC_E_API_BUILD_NOT_FINISHED');

    world.produceOutput(id, 'out', tar('the output'));
    world.finishBuild(id, 'succeeded');
    const output = await app.inject({
      method: 'GET',
      url: `/api/v1/builds/${id}/outputs/out`,
      headers: authed,
    });
    expect(output.statusCode).toBe(200);
    expect(output.headers['content-type']).toBe('application/x-tar');
    expect(output.rawPayload).toEqual(tar('the output'));

    const undeclared = await app.inject({
      method: 'GET',
      url: `/api/v1/builds/${id}/outputs/src`,
      headers: authed,
    });
    expect(undeclared.statusCode).toBe(404);
    expect(undeclared.json().code).toBe('CC_E_API_BUILD_OUTPUT_NOT_FOUND');
  });

  it('answer 404 CC_E_API_BUILD_INPUT_UNKNOWN for an input the build does not declare', async () => {
    const { id } = (await createBuild(app)).json();
    const res = await upload(app, id, 'docs', tar('x'));
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      code: 'CC_E_API_BUILD_INPUT_UNKNOWN',
      details: { declared: ['src'] },
    });
  });

  it('answer 415 for an input that is not sent as application/x-tar', async () => {
    const { id } = (await createBuild(app)).json();
    const res = await app.inject({
      method: 'PUT',
      url: `/api/v1/builds/${id}/inputs/src`,
      headers: authed,
      payload: { files: [] },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      code: 'CC_E_API_UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringContaining('application/x-tar'),
    });
  });

  it('answer 413 for an upload whose Content-Length is over the limit, before reading it', async () => {
    const { id } = (await createBuild(app)).json();
    const res = await upload(app, id, 'src', Buffer.alloc(4097));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_PAYLOAD_TOO_LARGE', details: { limitBytes: 4096 } });
    expect(world.uploadProgress(id, 'src')).toBe(0);
  });

  it('answer 413 for a streamed upload that grows over the limit, and store nothing', async () => {
    const { id } = (await createBuild(app)).json();
    const res = await upload(app, id, 'src', Readable.from([Buffer.alloc(3000), Buffer.alloc(3000)]));
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('CC_E_API_PAYLOAD_TOO_LARGE');
    expect(world.uploadState(id, 'src')).toBe('failed');
    expect(world.uploadedInput(id, 'src')).toBeUndefined();
    // What was read before the limit tripped was read as a stream, never more than the limit.
    expect(world.uploadProgress(id, 'src')).toBeLessThanOrEqual(4096);
  });
});

describe('one-off build uploads over a socket', () => {
  let app: FastifyInstance;
  let world: InMemoryApiServices;
  let url: string;
  beforeEach(async () => {
    ({ app, world, url } = await listeningWorldApi());
  });
  afterEach(async () => {
    await app.close();
  });

  /** A chunked PUT whose body the test writes piece by piece. */
  function startUpload(id: number, name: string) {
    const req = httpRequest(`${url}/api/v1/builds/${id}/inputs/${name}`, {
      method: 'PUT',
      agent: false,
      headers: { ...authed, 'content-type': 'application/x-tar', 'transfer-encoding': 'chunked' },
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    return { req, response };
  }

  it('reach the service while the client is still sending: the body is streamed, not buffered', async () => {
    const { id } = (await createBuild(app)).json();
    const { req, response } = startUpload(id, 'src');
    req.write(tar('first half'));
    // The request is not finished, yet the service has read its first bytes.
    await vi.waitFor(() => expect(world.uploadProgress(id, 'src')).toBe(1024));
    expect(world.uploadedInput(id, 'src')).toBeUndefined();

    req.end(tar('second half'));
    const res = await response;
    expect(res.statusCode).toBe(200);
    res.resume();
    expect(world.uploadedInput(id, 'src')).toEqual(Buffer.concat([tar('first half'), tar('second half')]));
  });

  it('store nothing when the client goes away halfway', async () => {
    const { id } = (await createBuild(app)).json();
    const { req, response } = startUpload(id, 'src');
    response.catch(() => {});
    req.write(tar('first half'));
    await vi.waitFor(() => expect(world.uploadProgress(id, 'src')).toBe(1024));

    req.destroy();
    // The service saw its stream fail (not end early as if complete) and kept nothing.
    await vi.waitFor(() => expect(world.uploadState(id, 'src')).toBe('failed'));
    expect(world.uploadedInput(id, 'src')).toBeUndefined();
    const build = await app.inject({ method: 'GET', url: `/api/v1/builds/${id}`, headers: authed });
    expect(build.json().pending_inputs).toEqual(['src']);
  });
});
