// What registry-mirror leaves on disk: content addressed blobs, repositories as links and tag
// files, nothing partial after a refused or failed write, uploads that survive a restart.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '@conveyor/registry-mirror';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MEDIA, makeImage, sha256 } from './oci-client.js';

let root: string;
let app: FastifyInstance;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-registry-storage-'));
  app = await buildRegistry({ root });
});
afterEach(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string, prefix: string) => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(at, entry.name), path);
      else found.push(path);
    }
  };
  await walk(dir, '');
  return found.sort();
}

const hex = (digest: string) => digest.slice('sha256:'.length);

async function pushBlob(repository: string, data: Buffer) {
  return app.inject({
    method: 'POST',
    url: `/v2/${repository}/blobs/uploads/?digest=${sha256(data)}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: data,
  });
}

async function startUpload(repository: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: `/v2/${repository}/blobs/uploads/` });
  expect(response.statusCode).toBe(202);
  return response.headers.location as string;
}

describe('on-disk layout', () => {
  it('stores blobs by digest, and repositories as links and tag files', async () => {
    const image = makeImage({ layers: 1 });
    for (const b of [...image.layers, image.config])
      expect((await pushBlob('plugins/git', b.data)).statusCode).toBe(201);
    const put = await app.inject({
      method: 'PUT',
      url: '/v2/plugins/git/manifests/2.0.0',
      headers: { 'content-type': MEDIA.ociManifest },
      payload: image.manifest.data,
    });
    expect(put.statusCode).toBe(201);

    const layer = image.layers[0]!;
    const blobFile = join(root, 'blobs', 'sha256', hex(layer.digest).slice(0, 2), hex(layer.digest));
    expect((await readFile(blobFile)).equals(layer.data)).toBe(true);
    const manifestFile = join(
      root,
      'blobs',
      'sha256',
      hex(image.manifest.digest).slice(0, 2),
      hex(image.manifest.digest),
    );
    expect((await readFile(manifestFile)).equals(image.manifest.data)).toBe(true);

    expect(await files(join(root, 'repositories'))).toEqual(
      [
        `plugins/git/_layers/sha256/${hex(layer.digest)}`,
        `plugins/git/_layers/sha256/${hex(image.config.digest)}`,
        `plugins/git/_manifests/revisions/sha256/${hex(image.manifest.digest)}`,
        'plugins/git/_manifests/tags/2.0.0',
      ].sort(),
    );
    const tag = JSON.parse(
      await readFile(join(root, 'repositories/plugins/git/_manifests/tags/2.0.0'), 'utf8'),
    );
    expect(tag.digest).toBe(image.manifest.digest);
    const revision = JSON.parse(
      await readFile(
        join(root, `repositories/plugins/git/_manifests/revisions/sha256/${hex(image.manifest.digest)}`),
        'utf8',
      ),
    );
    expect(revision).toEqual({
      digest: image.manifest.digest,
      mediaType: MEDIA.ociManifest,
      size: image.manifest.size,
    });
    // Nothing left behind by the writes.
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('stores the same blob once for several repositories', async () => {
    const data = randomBytes(1000);
    expect((await pushBlob('a', data)).statusCode).toBe(201);
    expect((await pushBlob('b/c', data)).statusCode).toBe(201);
    expect(await files(join(root, 'blobs'))).toEqual([
      `sha256/${hex(sha256(data)).slice(0, 2)}/${hex(sha256(data))}`,
    ]);
  });
});

describe('nothing partial is ever visible', () => {
  it('refuses a monolithic blob with the wrong digest and keeps nothing of it', async () => {
    const data = randomBytes(5000);
    const wrong = sha256(randomBytes(8));
    const response = await app.inject({
      method: 'POST',
      url: `/v2/x/blobs/uploads/?digest=${wrong}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: data,
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).errors[0].code).toBe('DIGEST_INVALID');
    expect(await files(join(root, 'blobs'))).toEqual([]);
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('drops a chunked upload whose digest does not match', async () => {
    const location = await startUpload('x');
    await app.inject({ method: 'PATCH', url: location, payload: randomBytes(3000) });
    const done = await app.inject({ method: 'PUT', url: `${location}?digest=${sha256('other')}` });
    expect(done.statusCode).toBe(400);
    expect(await files(join(root, 'blobs'))).toEqual([]);
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect((await app.inject({ method: 'GET', url: location })).statusCode).toBe(404);
  });

  it('refuses a manifest whose digest does not match its reference, storing nothing', async () => {
    const image = makeImage({ layers: 1 });
    for (const b of [...image.layers, image.config]) await pushBlob('x', b.data);
    const before = await files(join(root, 'blobs'));
    const response = await app.inject({
      method: 'PUT',
      url: `/v2/x/manifests/${sha256('not it')}`,
      headers: { 'content-type': MEDIA.ociManifest },
      payload: image.manifest.data,
    });
    expect(response.statusCode).toBe(400);
    expect(await files(join(root, 'blobs'))).toEqual(before);
  });

  it('rolls a chunk shorter than its Content-Range back, and the upload goes on', async () => {
    const data = randomBytes(2000);
    const location = await startUpload('x');
    const first = await app.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-range': '0-999' },
      payload: data.subarray(0, 1000),
    });
    expect(first.headers.range).toBe('0-999');
    const short = await app.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-range': '1000-1999' },
      payload: data.subarray(1000, 1500),
    });
    expect(short.statusCode).toBe(400);
    expect(JSON.parse(short.body).errors[0].code).toBe('SIZE_INVALID');
    const status = await app.inject({ method: 'GET', url: location });
    expect(status.headers.range).toBe('0-999');
    const done = await app.inject({
      method: 'PUT',
      url: `${location}?digest=${sha256(data)}`,
      headers: { 'content-range': '1000-1999' },
      payload: data.subarray(1000),
    });
    expect(done.statusCode).toBe(201);
  });

  it('clears temp files a crashed writer left, at start', async () => {
    await app.close();
    const stale = join(root, 'tmp', 'left-by-a-crash');
    await writeFile(stale, 'partial');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, old, old);
    const fresh = join(root, 'tmp', 'another-writer-now');
    await writeFile(fresh, 'in progress');
    app = await buildRegistry({ root });
    expect(await readdir(join(root, 'tmp'))).toEqual(['another-writer-now']);
  });
});

describe('upload sessions', () => {
  it('survive a restart: the next chunk continues where the data ends', async () => {
    const data = randomBytes(3000);
    const location = await startUpload('plugins/git');
    expect(
      (
        await app.inject({
          method: 'PATCH',
          url: location,
          headers: { 'content-range': '0-1499' },
          payload: data.subarray(0, 1500),
        })
      ).statusCode,
    ).toBe(202);
    await app.close();
    app = await buildRegistry({ root });
    const status = await app.inject({ method: 'GET', url: location });
    expect(status.statusCode).toBe(204);
    expect(status.headers.range).toBe('0-1499');
    const done = await app.inject({
      method: 'PUT',
      url: `${location}?digest=${sha256(data)}`,
      headers: { 'content-range': '1500-2999' },
      payload: data.subarray(1500),
    });
    expect(done.statusCode).toBe(201);
    const get = await app.inject({ method: 'GET', url: `/v2/plugins/git/blobs/${sha256(data)}` });
    expect(get.rawPayload.equals(data)).toBe(true);
  });

  it('belong to their repository', async () => {
    const location = await startUpload('a');
    const other = location.replace('/v2/a/', '/v2/b/');
    const response = await app.inject({ method: 'GET', url: other });
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).errors[0].code).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('expire when left untouched', async () => {
    await app.close();
    app = await buildRegistry({ root, uploadExpirySeconds: 60 });
    const location = await startUpload('x');
    const id = location.split('/').pop()!;
    const old = new Date(Date.now() - 120_000);
    await utimes(join(root, 'uploads', id, 'data'), old, old);
    await app.close();
    app = await buildRegistry({ root, uploadExpirySeconds: 60 });
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
  });

  it('take chunks without Content-Type or Content-Range (a streamed upload)', async () => {
    const data = randomBytes(4096);
    const location = await startUpload('x');
    const patch = await app.inject({ method: 'PATCH', url: location, payload: data });
    expect(patch.statusCode).toBe(202);
    expect(patch.headers.range).toBe('0-4095');
    const done = await app.inject({ method: 'PUT', url: `${location}?digest=${sha256(data)}` });
    expect(done.statusCode).toBe(201);
    expect(done.headers.location).toBe(`/v2/x/blobs/${sha256(data)}`);
  });

  it('answers 416 to a malformed Content-Range', async () => {
    const location = await startUpload('x');
    const response = await app.inject({
      method: 'PATCH',
      url: location,
      headers: { 'content-range': 'bytes */100' },
      payload: Buffer.from('abc'),
    });
    expect(response.statusCode).toBe(416);
    expect(response.headers.range).toBe('0-0');
  });
});

describe('requests it refuses', () => {
  it('answers NAME_INVALID for a repository name outside the grammar', async () => {
    for (const name of ['Upper/case', 'a//b', 'trailing-', '_private']) {
      const response = await app.inject({ method: 'GET', url: `/v2/${name}/tags/list` });
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).errors[0].code).toBe('NAME_INVALID');
    }
  });

  it('answers DIGEST_INVALID for a digest it cannot verify', async () => {
    for (const digest of ['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nocolon']) {
      const response = await app.inject({ method: 'GET', url: `/v2/x/blobs/${digest}` });
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).errors[0].code).toBe('DIGEST_INVALID');
    }
  });

  it('refuses a manifest over 4 MiB with 413', async () => {
    const response = await app.inject({
      method: 'PUT',
      url: '/v2/x/manifests/big',
      headers: { 'content-type': MEDIA.ociManifest },
      payload: Buffer.alloc(4 * 1024 * 1024 + 1, 32),
    });
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body).errors[0].code).toBe('SIZE_INVALID');
  });

  it('refuses a manifest whose descriptor size is not the blob size', async () => {
    const image = makeImage({ layers: 1 });
    for (const b of [...image.layers, image.config]) await pushBlob('x', b.data);
    const manifest = JSON.parse(image.manifest.data.toString());
    manifest.layers[0].size += 1;
    const response = await app.inject({
      method: 'PUT',
      url: '/v2/x/manifests/v1',
      headers: { 'content-type': MEDIA.ociManifest },
      payload: JSON.stringify(manifest),
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).errors[0].code).toBe('MANIFEST_INVALID');
  });

  it('refuses a Content-Type that contradicts the body, and schema 1', async () => {
    const image = makeImage({ layers: 1 });
    for (const b of [...image.layers, image.config]) await pushBlob('x', b.data);
    const contradicting = await app.inject({
      method: 'PUT',
      url: '/v2/x/manifests/v1',
      headers: { 'content-type': MEDIA.dockerManifest },
      payload: image.manifest.data,
    });
    expect(contradicting.statusCode).toBe(400);
    const schema1 = await app.inject({
      method: 'PUT',
      url: '/v2/x/manifests/v1',
      headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
      payload: JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'v1', fsLayers: [] }),
    });
    expect(schema1.statusCode).toBe(400);
    expect(JSON.parse(schema1.body).errors[0].message).toMatch(/schema 1/);
  });

  it('refuses deletes when deletion is disabled', async () => {
    await app.close();
    app = await buildRegistry({ root, delete: false });
    const data = randomBytes(10);
    await pushBlob('x', data);
    const response = await app.inject({ method: 'DELETE', url: `/v2/x/blobs/${sha256(data)}` });
    expect(response.statusCode).toBe(405);
    expect(JSON.parse(response.body).errors[0].code).toBe('UNSUPPORTED');
  });

  it('answers 304 to a conditional GET of a blob it has', async () => {
    const data = randomBytes(10);
    await pushBlob('x', data);
    const response = await app.inject({
      method: 'GET',
      url: `/v2/x/blobs/${sha256(data)}`,
      headers: { 'if-none-match': `"${sha256(data)}"` },
    });
    expect(response.statusCode).toBe(304);
  });

  it('answers 416 to a range outside the blob', async () => {
    const data = randomBytes(10);
    await pushBlob('x', data);
    const response = await app.inject({
      method: 'GET',
      url: `/v2/x/blobs/${sha256(data)}`,
      headers: { range: 'bytes=20-30' },
    });
    expect(response.statusCode).toBe(416);
    expect(response.headers['content-range']).toBe('bytes */10');
  });
});

describe('the storage root', () => {
  it('must be a writable directory', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, '');
    await expect(buildRegistry({ root: file })).rejects.toMatchObject({
      code: 'CC_E_REGISTRY_ROOT_UNUSABLE',
    });
    await mkdir(join(root, 'fine'));
    const other = await buildRegistry({ root: join(root, 'fine') });
    await other.close();
    expect((await stat(join(root, 'fine', 'blobs'))).isDirectory()).toBe(true);
  });
});
