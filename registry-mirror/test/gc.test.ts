// Garbage collection against a real registry-mirror on loopback: what a collection deletes and
// what it keeps is checked through the API (404 or the same bytes back) and on disk.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildRegistry,
  type GcReport,
  type RegistryMirrorOptions,
  type RunningRegistry,
  startRegistryMirror,
} from '@conveyor/registry-mirror';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Blob,
  blob,
  descriptor,
  errorCodes,
  MEDIA,
  makeImage,
  OciClient,
  sha256,
  type TestImage,
} from './oci-client.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const HOURS = 60 * 60 * 1000;

let root: string;
let registry: RunningRegistry;
let client: OciClient;
const others: RunningRegistry[] = [];
const roots: string[] = [];

async function newRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-registry-gc-'));
  roots.push(dir);
  return dir;
}

async function start(options: Partial<RegistryMirrorOptions> = {}): Promise<RunningRegistry> {
  registry = await startRegistryMirror({ root, port: 0, ...options });
  client = new OciClient(registry.url);
  return registry;
}

beforeEach(async () => {
  root = await newRoot();
  await start();
});
afterEach(async () => {
  await registry.close();
  for (const other of others.splice(0)) await other.close();
  for (const dir of roots.splice(0)) await rm(dir, { recursive: true, force: true });
});

const hex = (digest: string) => digest.slice('sha256:'.length);
const blobFile = (digest: string, at = root) =>
  join(at, 'blobs', 'sha256', hex(digest).slice(0, 2), hex(digest));

/** Make a file look `ms` old (what a clock would do, without waiting). */
async function age(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

/** An image made of the given layers (so two images can share one). */
function imageOf(layers: Blob[]): TestImage {
  const config = blob(
    MEDIA.ociConfig,
    Buffer.from(JSON.stringify({ os: 'linux', rootfs: { diff_ids: layers.map((l) => l.digest) } })),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: descriptor(config),
      layers: layers.map(descriptor),
    }),
  );
  return { config, layers, manifest: blob(MEDIA.ociManifest, manifest) };
}

const EMPTY = blob(MEDIA.ociEmpty, Buffer.from('{}'));

/** Push a signature artifact (its own random layer) whose subject is `subject`; returns it. */
async function pushSignature(repository: string, subject: Blob, reference?: string) {
  const payload = blob('application/vnd.example.signature.v1', randomBytes(200));
  await client.pushBlob(repository, EMPTY.data);
  await client.pushBlob(repository, payload.data);
  const manifest = blob(
    MEDIA.ociManifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/vnd.example.signature.v1',
        config: descriptor(EMPTY),
        layers: [descriptor(payload)],
        subject: descriptor(subject),
      }),
    ),
  );
  const put = await client.putManifest(
    repository,
    reference ?? manifest.digest,
    manifest.data,
    MEDIA.ociManifest,
  );
  expect(put.status).toBe(201);
  return { manifest, payload };
}

async function status(path: string, init: { method?: string } = {}): Promise<number> {
  const response = await client.fetch(path, init);
  await response.arrayBuffer();
  return response.status;
}

async function deleteManifest(repository: string, digest: string): Promise<void> {
  expect(await status(`/v2/${repository}/manifests/${digest}`, { method: 'DELETE' })).toBe(202);
}

const digestsOf = (report: GcReport) => report.blobs.map((b) => b.digest).sort();

describe('mark and sweep', () => {
  it('deletes the blobs only a deleted image used; the shared layer and the other image stay whole', async () => {
    const shared = blob(MEDIA.ociLayer, randomBytes(3000));
    const a = imageOf([shared, blob(MEDIA.ociLayer, randomBytes(2000))]);
    const b = imageOf([shared, blob(MEDIA.ociLayer, randomBytes(2500))]);
    const aDigest = await client.pushImage('team/app', a, 'a');
    const bDigest = await client.pushImage('team/app', b, 'b');
    await deleteManifest('team/app', aDigest);

    const report = await registry.collectGarbage({ graceSeconds: 0 });
    const gone = [a.layers[1]!, a.config, a.manifest];
    expect(digestsOf(report)).toEqual(gone.map((x) => x.digest).sort());
    expect(report.bytesFreed).toBe(gone.reduce((sum, x) => sum + x.size, 0));
    for (const x of gone) {
      expect(existsSync(blobFile(x.digest))).toBe(false);
      expect(existsSync(join(root, 'repositories/team/app/_layers/sha256', hex(x.digest)))).toBe(false);
    }
    expect(await status(`/v2/team/app/blobs/${a.layers[1]!.digest}`)).toBe(404);
    expect(await status(`/v2/team/app/blobs/${a.config.digest}`)).toBe(404);
    expect(await status(`/v2/team/app/manifests/${aDigest}`)).toBe(404);

    expect(existsSync(blobFile(shared.digest))).toBe(true);
    const pulled = await client.pullImage('team/app', 'b');
    expect(sha256(pulled.manifest)).toBe(bDigest);
    expect(pulled.manifest.equals(b.manifest.data)).toBe(true);
    expect(pulled.blobs.map((x) => x.toString('hex'))).toEqual(
      [b.config, ...b.layers].map((x) => x.data.toString('hex')),
    );
    // A second run finds nothing more.
    expect((await registry.collectGarbage({ graceSeconds: 0 })).blobs).toEqual([]);
  });

  it('keeps what another repository still references', async () => {
    const image = makeImage();
    const digest = await client.pushImage('one', image, 'v1');
    await client.pushImage('two', image, 'v1');
    await deleteManifest('one', digest);
    const report = await registry.collectGarbage({ graceSeconds: 0 });
    expect(report.blobs).toEqual([]);
    expect((await client.pullImage('two', 'v1')).manifest.equals(image.manifest.data)).toBe(true);
  });

  it('keeps an untagged manifest (pushed by digest) and the blobs of an index’s children', async () => {
    const child = makeImage({ layers: 1 });
    const childDigest = await client.pushImage('multi', child, child.manifest.digest);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [{ ...descriptor(child.manifest), platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    expect((await client.putManifest('multi', 'latest', index, MEDIA.ociIndex)).status).toBe(201);
    expect((await registry.collectGarbage({ graceSeconds: 0 })).blobs).toEqual([]);
    // The child's revision goes, the index still names it: its bytes and blobs stay.
    await deleteManifest('multi', childDigest);
    const report = await registry.collectGarbage({ graceSeconds: 0 });
    expect(report.blobs).toEqual([]);
    for (const x of [child.manifest, child.config, ...child.layers])
      expect(existsSync(blobFile(x.digest))).toBe(true);
    expect(await status(`/v2/multi/blobs/${child.layers[0]!.digest}`)).toBe(200);
  });
});

describe('referrers', () => {
  it('keeps a signature of a live manifest, collects one whose subject was deleted, keeps a tagged one', async () => {
    const live = makeImage({ layers: 1 });
    const dead = makeImage({ layers: 1 });
    const liveDigest = await client.pushImage('signed', live, 'live');
    const deadDigest = await client.pushImage('signed', dead, 'dead');
    const liveSignature = await pushSignature('signed', live.manifest);
    const deadSignature = await pushSignature('signed', dead.manifest);
    const tagged = await pushSignature('signed', dead.manifest, 'kept-signature');
    await deleteManifest('signed', deadDigest);

    const report = await registry.collectGarbage({ graceSeconds: 0 });
    expect(report.manifests).toEqual([
      { repository: 'signed', digest: deadSignature.manifest.digest, subject: deadDigest },
    ]);
    expect(digestsOf(report)).toEqual(
      [dead.config, ...dead.layers, deadSignature.manifest, deadSignature.payload]
        .map((x) => x.digest)
        .sort(),
    );

    // The dead image's signature: manifest and payload gone, and no longer listed.
    expect(await status(`/v2/signed/manifests/${deadSignature.manifest.digest}`)).toBe(404);
    expect(await status(`/v2/signed/blobs/${deadSignature.payload.digest}`)).toBe(404);
    expect(existsSync(blobFile(deadSignature.payload.digest))).toBe(false);
    const deadReferrers = (await (await client.fetch(`/v2/signed/referrers/${deadDigest}`)).json()) as {
      manifests: Array<{ digest: string }>;
    };
    expect(deadReferrers.manifests.map((m) => m.digest)).toEqual([tagged.manifest.digest]);

    // The live image's signature, and the tagged one (which keeps its subject's bytes).
    expect(await status(`/v2/signed/manifests/${liveSignature.manifest.digest}`)).toBe(200);
    expect(await status(`/v2/signed/blobs/${liveSignature.payload.digest}`)).toBe(200);
    const liveReferrers = (await (await client.fetch(`/v2/signed/referrers/${liveDigest}`)).json()) as {
      manifests: Array<{ digest: string }>;
    };
    expect(liveReferrers.manifests.map((m) => m.digest)).toEqual([liveSignature.manifest.digest]);
    expect(await status('/v2/signed/manifests/kept-signature')).toBe(200);
    expect(await status(`/v2/signed/blobs/${tagged.payload.digest}`)).toBe(200);
    expect(existsSync(blobFile(dead.manifest.digest))).toBe(true);
    expect((await client.pullImage('signed', 'live')).manifest.equals(live.manifest.data)).toBe(true);
  });
});

describe('the grace period', () => {
  it('keeps a blob uploaded but not referenced yet, until it is older than the grace period', async () => {
    const data = randomBytes(1500);
    const digest = await client.pushBlob('pending', data);
    // Default grace (1 h): a push in progress keeps its blobs.
    expect((await registry.collectGarbage()).blobs).toEqual([]);
    expect((await registry.collectGarbage({ graceSeconds: 3600 })).kept.blobs).toBe(1);
    expect(Buffer.from(await (await client.fetch(`/v2/pending/blobs/${digest}`)).arrayBuffer())).toEqual(
      data,
    );
    // Two hours untouched: an abandoned push.
    await age(blobFile(digest), 2 * HOURS);
    const report = await registry.collectGarbage({ graceSeconds: 3600 });
    expect(digestsOf(report)).toEqual([digest]);
    expect(await status(`/v2/pending/blobs/${digest}`)).toBe(404);
  });

  it('counts from the last HEAD, mount or upload of a blob, not its first upload', async () => {
    const headed = await client.pushBlob('dedup', randomBytes(100));
    const mounted = await client.pushBlob('dedup', randomBytes(100));
    const reuploaded = randomBytes(100);
    await client.pushBlob('dedup', reuploaded);
    for (const digest of [headed, mounted, sha256(reuploaded)]) await age(blobFile(digest), 2 * HOURS);
    // What a pusher does before it skips an upload, or instead of one.
    expect(await status(`/v2/dedup/blobs/${headed}`, { method: 'HEAD' })).toBe(200);
    expect(await status(`/v2/elsewhere/blobs/uploads/?mount=${mounted}&from=dedup`, { method: 'POST' })).toBe(
      201,
    );
    await client.pushBlob('dedup', reuploaded);
    expect((await registry.collectGarbage({ graceSeconds: 3600 })).blobs).toEqual([]);
    // The manifest that finally names them keeps them for good.
    const image = imageOf([blob(MEDIA.ociLayer, reuploaded)]);
    await client.pushImage('dedup', image, 'v1');
    for (const digest of [headed, mounted]) await age(blobFile(digest), 2 * HOURS);
    await age(blobFile(sha256(reuploaded)), 2 * HOURS);
    expect(digestsOf(await registry.collectGarbage({ graceSeconds: 3600 }))).toEqual(
      [headed, mounted].sort(),
    );
    expect((await client.pullImage('dedup', 'v1')).blobs[1]!.equals(reuploaded)).toBe(true);
  });

  it('never lets a manifest PUT succeed whose blobs a concurrent collection deletes', async () => {
    for (let round = 0; round < 10; round++) {
      const image = makeImage({ layers: 2 });
      for (const x of [...image.layers, image.config]) {
        await client.pushBlob('race', x.data);
        await age(blobFile(x.digest), 2 * HOURS);
      }
      const [put, report] = await Promise.all([
        client.putManifest('race', `r${round}`, image.manifest.data, image.manifest.mediaType),
        registry.collectGarbage({ graceSeconds: 0 }),
      ]);
      if (put.status === 201) {
        expect(report.blobs).toEqual([]);
        expect((await client.pullImage('race', `r${round}`)).manifest.equals(image.manifest.data)).toBe(true);
      } else {
        // The collection came first: the push is told, and can upload again.
        expect(await errorCodes(put)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
      }
    }
  });
});

describe('upload sessions', () => {
  it('removes sessions untouched for longer than their maximum age, and only those', async () => {
    const stale = await client.startUpload('uploads');
    const patch = await client.fetch(stale, { method: 'PATCH', body: randomBytes(700) });
    expect(patch.status).toBe(202);
    const fresh = await client.startUpload('uploads');
    const staleId = stale.split('/').pop()!;
    await age(join(root, 'uploads', staleId, 'data'), 25 * HOURS);

    const report = await registry.collectGarbage({ uploadMaxAgeSeconds: 86400 });
    expect(report.uploads).toEqual([{ id: staleId, repository: 'uploads', size: 700 }]);
    expect(report.bytesFreed).toBe(700);
    expect(await readdir(join(root, 'uploads'))).toEqual([fresh.split('/').pop()]);
    const gone = await client.fetch(stale);
    expect(gone.status).toBe(404);
    expect(await errorCodes(gone)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    expect(await status(fresh)).toBe(204);
  });
});

describe('dry run', () => {
  it('deletes nothing and lists what a real run then deletes', async () => {
    const image = makeImage();
    const digest = await client.pushImage('dry', image, 'v1');
    await deleteManifest('dry', digest);
    const stale = await client.startUpload('dry');
    await age(join(root, 'uploads', stale.split('/').pop()!, 'data'), 25 * HOURS);

    const dry = await registry.collectGarbage({ graceSeconds: 0, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(digestsOf(dry)).toEqual(
      [image.config, image.manifest, ...image.layers].map((x) => x.digest).sort(),
    );
    expect(dry.uploads).toHaveLength(1);
    for (const x of [image.config, image.manifest, ...image.layers])
      expect(existsSync(blobFile(x.digest))).toBe(true);
    expect(await status(`/v2/dry/blobs/${image.layers[0]!.digest}`)).toBe(200);
    expect(await status(stale)).toBe(204);

    const real = await registry.collectGarbage({ graceSeconds: 0 });
    expect(digestsOf(real)).toEqual(digestsOf(dry));
    expect(real.uploads).toEqual(dry.uploads);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
    for (const x of [image.config, image.manifest, ...image.layers])
      expect(existsSync(blobFile(x.digest))).toBe(false);
  });
});

describe('mirror mode', () => {
  it('keeps the blobs cached manifests reference, collects the others, and fetches them again', async () => {
    // `registry` is the upstream here; the mirror caches from it.
    const image = makeImage();
    await client.pushImage('library/app', image, 'v1');
    const loose = randomBytes(4000);
    const looseDigest = await client.pushBlob('library/app', loose);
    const mirrorRoot = await newRoot();
    const mirror = await startRegistryMirror({ root: mirrorRoot, port: 0, upstream: { url: registry.url } });
    others.push(mirror);
    const mirrorClient = new OciClient(mirror.url);
    expect((await mirrorClient.pullImage('library/app', 'v1')).manifest.equals(image.manifest.data)).toBe(
      true,
    );
    const fetched = await mirrorClient.fetch(`/v2/library/app/blobs/${looseDigest}`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(loose)).toBe(true);
    expect(existsSync(blobFile(looseDigest, mirrorRoot))).toBe(true);

    const report = await mirror.collectGarbage({ graceSeconds: 0 });
    expect(digestsOf(report)).toEqual([looseDigest]);
    expect(existsSync(blobFile(looseDigest, mirrorRoot))).toBe(false);
    for (const x of [image.manifest, image.config, ...image.layers])
      expect(existsSync(blobFile(x.digest, mirrorRoot))).toBe(true);
    // A collected blob is the upstream's still: the mirror fetches it again.
    const again = await mirrorClient.fetch(`/v2/library/app/blobs/${looseDigest}`);
    expect(Buffer.from(await again.arrayBuffer()).equals(loose)).toBe(true);
    // The cached image is served from the cache alone.
    await registry.close();
    registry = await startRegistryMirror({ root: await newRoot(), port: 0 });
    expect((await mirrorClient.pullImage('library/app', 'v1')).manifest.equals(image.manifest.data)).toBe(
      true,
    );
  });
});

describe('in the server', () => {
  it('collects every gc.intervalSeconds when that is set', async () => {
    const image = makeImage({ layers: 1 });
    const digest = await client.pushImage('periodic', image, 'v1');
    await registry.close();
    await start({ gc: { intervalSeconds: 0.05, graceSeconds: 0 } });
    expect((await client.pullImage('periodic', 'v1')).manifest.equals(image.manifest.data)).toBe(true);
    await deleteManifest('periodic', digest);
    const layer = image.layers[0]!.digest;
    await vi.waitFor(() => expect(existsSync(blobFile(layer))).toBe(false), {
      timeout: 30_000,
      interval: 50,
    });
    expect(await status(`/v2/periodic/blobs/${layer}`)).toBe(404);
  });

  it('checks its gc options', async () => {
    for (const [gc, message] of [
      [{ intervalSeconds: -1 }, /options\.gc\.intervalSeconds must be a number from 0 to/],
      [{ intervalSeconds: 30 * 86400 }, /options\.gc\.intervalSeconds must be a number from 0 to 2073600/],
      [{ graceSeconds: '1h' }, /options\.gc\.graceSeconds must be a number/],
      [{ every: 10 }, /options\.gc\.every is not an option; known: intervalSeconds, graceSeconds/],
    ] as const) {
      const error = await buildRegistry({ root, gc } as unknown as RegistryMirrorOptions).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'CC_E_REGISTRY_CONFIG_INVALID' });
      expect((error as Error).message).toMatch(message);
    }
    const flag = await runMain(['--root', root, '--port', '0', '--gc-interval', 'daily']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/CC_E_REGISTRY_CONFIG_INVALID.*--gc-interval must be a duration/);
  });
});

/** Run `dist/main.js gc …` to its exit. */
function gcCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runMain(['gc', ...args]);
}

/** Run `dist/main.js …` to its exit. */
async function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child: ChildProcess = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('the gc subcommand', () => {
  let image: TestImage;
  let survivor: TestImage;

  beforeEach(async () => {
    image = makeImage();
    survivor = makeImage();
    const digest = await client.pushImage('cli/app', image, 'old');
    await client.pushImage('cli/app', survivor, 'new');
    await deleteManifest('cli/app', digest);
  });

  it('refuses a short grace period beside a live server, but dry-runs and takes a longer one', async () => {
    const refused = await gcCommand(['--root', root, '--grace', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/CC_E_REGISTRY_GC_UNSAFE.*pid \d+\) .*at least 60s/);
    const dry = await gcCommand(['--root', root, '--grace', '0', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would delete blob ${image.layers[0]!.digest}`);
    const longer = await gcCommand(['--root', root, '--grace', '1m']);
    expect(longer.code).toBe(0);
    expect(longer.stdout).toMatch(/^0 blobs, 0 manifests, 0 uploads; 0 bytes freed; kept 8 blobs/m);
    for (const x of [image.config, ...image.layers]) expect(existsSync(blobFile(x.digest))).toBe(true);
  });

  it('prints what it deletes and the bytes freed, as text or JSON; a restarted server agrees', async () => {
    await registry.close();
    const dry = await gcCommand(['--root', root, '--grace', '0', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const dryReport = JSON.parse(dry.stdout) as GcReport;
    const gone = [image.config, image.manifest, ...image.layers];
    expect(dryReport).toMatchObject({ dryRun: true, graceSeconds: 0 });
    expect(digestsOf(dryReport)).toEqual(gone.map((x) => x.digest).sort());
    for (const x of gone) expect(existsSync(blobFile(x.digest))).toBe(true);

    const real = await gcCommand(['--root', root, '--grace', '0']);
    expect(real.code).toBe(0);
    for (const x of gone) expect(real.stdout).toContain(`deleted blob ${x.digest} (${x.size} bytes)`);
    const freed = gone.reduce((sum, x) => sum + x.size, 0);
    expect(real.stdout).toContain(`4 blobs, 0 manifests, 0 uploads; ${freed} bytes freed`);
    for (const x of gone) expect(existsSync(blobFile(x.digest))).toBe(false);

    await start();
    expect(await status(`/v2/cli/app/blobs/${image.layers[0]!.digest}`)).toBe(404);
    expect((await client.pullImage('cli/app', 'new')).manifest.equals(survivor.manifest.data)).toBe(true);
  });

  it('exits 2 on a root that is no registry, or a bad duration', async () => {
    const empty = await newRoot();
    const notRoot = await gcCommand(['--root', empty]);
    expect(notRoot.code).toBe(2);
    expect(notRoot.stderr).toMatch(/CC_E_REGISTRY_ROOT_UNUSABLE.*not a registry storage root/);
    expect(await readdir(empty)).toEqual([]);
    const bad = await gcCommand(['--root', root, '--grace', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CC_E_REGISTRY_CONFIG_INVALID.*--grace must be a duration/);
  });
});
