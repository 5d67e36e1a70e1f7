// Conditional manifest PUTs by tag (If-Match / If-None-Match): the compare-and-set that a
// read-modify-write client (the plugin index) needs so that no writer's change is lost.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = Buffer.from('{}');
const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('conditional tag writes', () => {
  let root: string;
  let registry: RunningRegistry;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conveyor-registry-conditional-'));
    registry = await startRegistryMirror({ root, port: 0 });
    // The empty config every manifest below names.
    const response = await fetch(`${registry.url}/v2/team/index/blobs/uploads/?digest=${digestOf(EMPTY)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: EMPTY,
    });
    expect(response.status).toBe(201);
  });

  afterAll(async () => {
    await registry?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A distinct manifest per `n`, told apart by an annotation. */
  const manifest = (n: number) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(EMPTY), size: 2 },
        layers: [],
        annotations: { n: String(n) },
      }),
    );
  const put = (n: number, headers: Record<string, string> = {}) =>
    fetch(`${registry.url}/v2/team/index/manifests/latest`, {
      method: 'PUT',
      headers: { 'content-type': MANIFEST, ...headers },
      body: manifest(n),
    });
  const tagged = async () =>
    (await fetch(`${registry.url}/v2/team/index/manifests/latest`, { method: 'HEAD' })).headers.get(
      'docker-content-digest',
    );

  it('creates a tag with If-None-Match: * only while it does not exist', async () => {
    expect((await put(1, { 'if-none-match': '*' })).status).toBe(201);
    const refused = await put(2, { 'if-none-match': '*' });
    expect(refused.status).toBe(412);
    expect(await refused.text()).toContain('PRECONDITION_FAILED');
    expect(await tagged()).toBe(digestOf(manifest(1)));
  });

  it('moves a tag with If-Match only from the digest it names, and writes nothing when refused', async () => {
    const current = digestOf(manifest(1));
    expect((await put(3, { 'if-match': `"${digestOf(manifest(9))}"` })).status).toBe(412);
    // The refused manifest was not stored either.
    expect((await fetch(`${registry.url}/v2/team/index/manifests/${digestOf(manifest(3))}`)).status).toBe(
      404,
    );
    expect((await put(4, { 'if-match': `"${current}"` })).status).toBe(201);
    expect(await tagged()).toBe(digestOf(manifest(4)));
  });

  it('lets exactly one of several writers holding the same digest win', async () => {
    const current = (await tagged()) as string;
    const statuses = await Promise.all(
      [10, 11, 12, 13, 14].map(async (n) => (await put(n, { 'if-match': `"${current}"` })).status),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(4);
  });
});
