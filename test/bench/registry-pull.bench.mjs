// Pull throughput of one large blob (50 MiB by default) from registry-mirror, next to Debian's
// docker-registry (Distribution 2.8, Go, sendfile) serving the same blob on the same machine,
// measured in the same run. Each server runs in its own process (registry-mirror from
// registry-mirror/dist/main.js), both with filesystem storage in a temp dir; the client is
// node:http on loopback reading and dropping the bytes. The two sides alternate in rounds so that
// neither always runs while the machine is busier.
//
//   node test/bench/run.mjs registry-pull
//   BENCH_REGISTRY_BYTES=52428800 BENCH_REGISTRY_ROUNDS=9 node test/bench/run.mjs registry-pull
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCKER_REGISTRY, startDockerRegistry, stop } from './registries.mjs';
import { fmt, summarise } from './stats.mjs';

const BYTES = Number(process.env.BENCH_REGISTRY_BYTES ?? 50 * 1024 * 1024);
const ROUNDS = Number(process.env.BENCH_REGISTRY_ROUNDS ?? 9);
/** Pulls per side per round; the round's figure is their median. */
const PULLS = Number(process.env.BENCH_REGISTRY_PULLS ?? 3);
const WARMUP = 2;
const MAIN = fileURLToPath(new URL('../../registry-mirror/dist/main.js', import.meta.url));
const REPOSITORY = 'bench/blob';

/** registry-mirror as its own process, as it would run in production. */
async function startRegistryMirror(dir) {
  const child = spawn(process.execPath, [MAIN, '--root', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^listening on (\S+)/m.exec(stdout);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`registry-mirror exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
  return { url, child };
}

async function pushBlob(url, digest, data) {
  const started = await fetch(`${url}/v2/${REPOSITORY}/blobs/uploads/`, { method: 'POST' });
  if (started.status !== 202) throw new Error(`${url}: starting an upload: ${started.status}`);
  const location = new URL(started.headers.get('location'), url);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: data,
  });
  if (done.status !== 201) throw new Error(`${url}: uploading: ${done.status} ${await done.text()}`);
}

/** One pull of the blob, bytes read and dropped; returns microseconds. */
function pull(url, digest) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    get(`${url}/v2/${REPOSITORY}/blobs/${digest}`, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${url}: GET blob answered ${response.statusCode}`));
        return;
      }
      let received = 0;
      response.on('data', (chunk) => {
        received += chunk.length;
      });
      response.on('end', () => {
        if (received !== BYTES) reject(new Error(`${url}: got ${received} bytes of ${BYTES}`));
        else resolve(Number(process.hrtime.bigint() - start) / 1000);
      });
      response.on('error', reject);
    }).on('error', reject);
  });
}

const mibPerSecond = (us) => (BYTES / 1024 / 1024 / (us / 1e6)).toFixed(0);

export default async function bench() {
  const title = `Registry pull: one ${(BYTES / 1024 / 1024).toFixed(0)} MiB blob over loopback`;
  if (!existsSync(DOCKER_REGISTRY))
    return { title, columns: ['what'], rows: [[`skipped: ${DOCKER_REGISTRY} not found`]] };
  if (!existsSync(MAIN))
    return { title, columns: ['what'], rows: [['skipped: build first (npm run build)']] };

  const scratch = await mkdtemp(join(tmpdir(), 'conveyor-bench-registry-'));
  const children = [];
  try {
    const data = randomBytes(BYTES);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const distribution = await startDockerRegistry(join(scratch, 'distribution'));
    children.push(distribution.child);
    const ours = await startRegistryMirror(join(scratch, 'registry-mirror'));
    children.push(ours.child);
    await pushBlob(distribution.url, digest, data);
    await pushBlob(ours.url, digest, data);

    for (let i = 0; i < WARMUP; i++) {
      await pull(distribution.url, digest);
      await pull(ours.url, digest);
    }
    const baseTimes = [];
    const ourTimes = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sides = [
        async () => {
          const times = [];
          for (let i = 0; i < PULLS; i++) times.push(await pull(distribution.url, digest));
          baseTimes.push(summarise(times).median);
        },
        async () => {
          const times = [];
          for (let i = 0; i < PULLS; i++) times.push(await pull(ours.url, digest));
          ourTimes.push(summarise(times).median);
        },
      ];
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
    }
    const base = summarise(baseTimes).median;
    const mine = summarise(ourTimes).median;
    return {
      title,
      columns: ['what', 'median pull time', 'throughput', 'vs docker-registry'],
      rows: [
        [
          `docker-registry 2.8 (Go), baseline (median of ${ROUNDS} rounds × ${PULLS})`,
          fmt(base),
          `${mibPerSecond(base)} MiB/s`,
          '1.00×',
        ],
        [
          `registry-mirror (median of ${ROUNDS} rounds × ${PULLS})`,
          fmt(mine),
          `${mibPerSecond(mine)} MiB/s`,
          `${(base / mine).toFixed(2)}×`,
        ],
      ],
      // Throughput relative to docker-registry's: higher is better.
      ratio: base / mine,
      target: 0.5,
      higherIsBetter: true,
    };
  } finally {
    for (const child of children.reverse()) await stop(child).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
