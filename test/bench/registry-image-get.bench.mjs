// The registry-image resource's get (format: rootfs) of an image of one gzipped layer (2,000
// files, 48 MiB unpacked by default) from Debian's docker-registry on loopback, next to the raw
// way to the same root filesystem measured in the same run: `curl` the layer blob piped into
// `tar -xz`. Ours also resolves the tag, reads the manifest and config, checks the layer's digest
// and applies OCI whiteouts, in a plugin worker. The two sides alternate in rounds.
//
//   node test/bench/run.mjs registry-image-get
//   BENCH_IMAGE_FILES=2000 BENCH_IMAGE_FILE_BYTES=24576 BENCH_IMAGE_ROUNDS=7 node test/bench/run.mjs registry-image-get
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DOCKER_REGISTRY, startDockerRegistry, stop } from './registries.mjs';
import { fmt, summarise } from './stats.mjs';

const FILES = Number(process.env.BENCH_IMAGE_FILES ?? 2000);
const FILE_BYTES = Number(process.env.BENCH_IMAGE_FILE_BYTES ?? 24 * 1024);
const ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 7);
const WARMUP = 1;
const REPOSITORY = 'bench/app';
const PLUGIN_DIR = fileURLToPath(new URL('../../plugins/resource-registry-image/', import.meta.url));
const TESTING = new URL('../../plugin-api/dist/testing/index.js', import.meta.url);

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
}

/** A layer of FILES files of FILE_BYTES each (half random, half text: gzip has work to do). */
async function buildLayer(scratch) {
  const tree = join(scratch, 'tree');
  for (let i = 0; i < FILES; i++) {
    const dir = join(tree, 'usr', 'lib', `pkg-${i % 50}`);
    await mkdir(dir, { recursive: true });
    const half = Math.floor(FILE_BYTES / 2);
    await writeFile(
      join(dir, `file-${i}.so`),
      Buffer.concat([randomBytes(half), Buffer.alloc(FILE_BYTES - half, `line ${i} of text\n`)]),
    );
  }
  const tarFile = join(scratch, 'layer.tar');
  await run('tar', ['-cf', tarFile, '-C', tree, '.']);
  const uncompressed = await readFile(tarFile);
  return { diffId: sha256(uncompressed), gzipped: gzipSync(uncompressed, { level: 6 }) };
}

async function push(url, layer) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    }),
  );
  const blobs = [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', data: layer.gzipped },
    { mediaType: 'application/vnd.oci.image.config.v1+json', data: config },
  ].map((b) => ({ ...b, digest: sha256(b.data), size: b.data.length }));
  for (const blob of blobs) {
    const started = await fetch(`${url}/v2/${REPOSITORY}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(started.headers.get('location'), url);
    location.searchParams.set('digest', blob.digest);
    const done = await fetch(location, { method: 'PUT', body: blob.data });
    if (done.status !== 201) throw new Error(`uploading a blob: ${done.status}`);
  }
  const descriptor = ({ mediaType, digest, size }) => ({ mediaType, digest, size });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor(blobs[1]),
    layers: [descriptor(blobs[0])],
  });
  const put = await fetch(`${url}/v2/${REPOSITORY}/manifests/latest`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`pushing the manifest: ${put.status}`);
  return { layerDigest: blobs[0].digest, manifestDigest: sha256(Buffer.from(manifest)) };
}

export default async function bench() {
  const title = `registry-image get (rootfs): one gzipped layer, ${FILES} files, ${((FILES * FILE_BYTES) / 1024 / 1024).toFixed(0)} MiB unpacked`;
  if (!existsSync(DOCKER_REGISTRY))
    return { title, columns: ['what'], rows: [[`skipped: ${DOCKER_REGISTRY} not found`]] };
  if (!existsSync(join(PLUGIN_DIR, 'dist', 'index.js')) || !existsSync(fileURLToPath(TESTING)))
    return { title, columns: ['what'], rows: [['skipped: build first (npm run build)']] };

  const scratch = await mkdtemp(join(tmpdir(), 'conveyor-bench-registry-image-'));
  let registry;
  let plugin;
  try {
    const layer = await buildLayer(scratch);
    registry = await startDockerRegistry(join(scratch, 'registry'));
    const { layerDigest, manifestDigest } = await push(registry.url, layer);
    const { loadPluginForTest } = await import(TESTING.href);
    plugin = await loadPluginForTest(PLUGIN_DIR, {});
    const source = { repository: `${registry.url.replace('http://', '')}/${REPOSITORY}`, tag: 'latest' };

    let n = 0;
    const fresh = async () => {
      const path = join(scratch, 'out', String(n++));
      await mkdir(path, { recursive: true });
      return path;
    };
    const raw = async () => {
      const path = await fresh();
      const start = process.hrtime.bigint();
      await run('sh', [
        '-c',
        `curl -sf "${registry.url}/v2/${REPOSITORY}/blobs/${layerDigest}" | tar -xzf - -C "${path}"`,
      ]);
      const us = Number(process.hrtime.bigint() - start) / 1000;
      await rm(path, { recursive: true, force: true });
      return us;
    };
    const ours = async () => {
      const path = await fresh();
      const start = process.hrtime.bigint();
      await plugin.call('get', {
        source,
        version: { digest: manifestDigest },
        directory: { handle: `bench-${n}`, driver: 'naive', location: { type: 'host-path', path } },
      });
      const us = Number(process.hrtime.bigint() - start) / 1000;
      if (!existsSync(join(path, 'rootfs', 'usr', 'lib', 'pkg-0', 'file-0.so')))
        throw new Error('the get wrote no rootfs');
      await rm(path, { recursive: true, force: true });
      return us;
    };

    for (let i = 0; i < WARMUP; i++) {
      await raw();
      await ours();
    }
    const baseTimes = [];
    const ourTimes = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sides = [async () => baseTimes.push(await raw()), async () => ourTimes.push(await ours())];
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
    }
    const base = summarise(baseTimes).median;
    const mine = summarise(ourTimes).median;
    return {
      title,
      columns: ['what', 'median', 'vs curl and tar'],
      rows: [
        [`raw: curl the layer blob, piped to tar -xz (median of ${ROUNDS})`, fmt(base), '1.00×'],
        [
          `registry-image get, format rootfs: resolve, manifest, config, layer with digest check, whiteouts (median of ${ROUNDS})`,
          fmt(mine),
          `${(mine / base).toFixed(2)}×`,
        ],
      ],
      ratio: mine / base,
      target: 2,
    };
  } finally {
    await plugin?.close?.().catch(() => undefined);
    if (registry) await stop(registry.child).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
