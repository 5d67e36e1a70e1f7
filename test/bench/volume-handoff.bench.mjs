// Handing a step's output to the next step: the time to create a child of a volume that holds a
// large tree (100,000 files, 1 GiB by default), for each volume driver, next to `cp -a` of the same
// tree on the same filesystem, measured in the same run. The tree is made once in a volume of each
// driver. Overlay and btrfs need root; btrfs runs on a sparse loop file made for the run.
//
//   BENCH_HANDOFF_FILES=100000 BENCH_HANDOFF_BYTES=1073741824 node test/bench/run.mjs volume-handoff
//
// Smaller trees for a quick look: BENCH_HANDOFF_FILES=2000 BENCH_HANDOFF_BYTES=20000000.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadPluginForTest } from '@conveyor/plugin-api/testing';
import { fmt, summarise } from './stats.mjs';

const run = promisify(execFile);
const FILES = Number(process.env.BENCH_HANDOFF_FILES ?? 100_000);
const BYTES = Number(process.env.BENCH_HANDOFF_BYTES ?? 1024 ** 3);
/** Copies made by `cp -a` and by the naive driver, alternating, so that neither always runs second. */
const COPY_ROUNDS = Number(process.env.BENCH_HANDOFF_COPY_ROUNDS ?? 3);
/** Children made per copy-on-write driver; each costs a mount or a snapshot, not a copy. */
const COW_CHILDREN = Number(process.env.BENCH_HANDOFF_COW_CHILDREN ?? 5);
const FILES_PER_DIR = 100;
const WRITERS = 32;
const plugins = fileURLToPath(new URL('../../plugins/', import.meta.url));
const isRoot = process.getuid?.() === 0;
/** Two significant digits: a snapshot is thousandths of a copy, which `0.00×` would hide. */
const ratio = (ours, base) => `${Number((ours / base).toPrecision(2))}×`;

/** `FILES` files of about BYTES / FILES bytes each, `FILES_PER_DIR` to a directory. */
async function makeTree(dir) {
  const size = Math.floor(BYTES / FILES);
  // A different window of random bytes per file, so that nothing could share their blocks.
  const pool = randomBytes(size + 4096);
  const subdir = (i) => join(dir, `d${Math.floor(i / FILES_PER_DIR)}`);
  for (let i = 0; i < FILES; i += FILES_PER_DIR) await mkdir(subdir(i));
  let next = 0;
  const writer = async () => {
    for (let i = next++; i < FILES; i = next++) {
      await writeFile(join(subdir(i), `f${i}`), pool.subarray(i % 4096, (i % 4096) + size));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

async function timed(fn) {
  await run('sync');
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** A btrfs filesystem on a sparse loop file (the vitest harness, test/harness/btrfs.ts, is TypeScript). */
async function btrfsLoop(scratch) {
  const image = join(scratch, 'btrfs.img');
  const mnt = join(scratch, 'btrfs');
  const file = await open(image, 'w');
  await file.truncate(Math.max(3 * BYTES + 1024 ** 3, 512 * 1024 ** 2));
  await file.close();
  await run('mkfs.btrfs', ['--quiet', image]);
  const device = (await run('losetup', ['--find', '--show', image])).stdout.trim();
  try {
    await mkdir(mnt);
    await run('mount', ['-t', 'btrfs', device, mnt]);
  } catch (error) {
    await run('losetup', ['--detach', device]);
    throw error;
  }
  return {
    path: mnt,
    stop: async () => {
      await run('umount', [mnt]);
      await run('losetup', ['--detach', device]);
    },
  };
}

async function driver(name, root) {
  const plugin = await loadPluginForTest(join(plugins, `volume-${name}`), { root });
  const source = (await plugin.call('createVolume', { handle: 'source', strategy: { type: 'empty' } })).value
    .volume.volume.location.path;
  await makeTree(source);
  let children = 0;
  return {
    source,
    handoff: () =>
      timed(() =>
        plugin.call('createVolume', {
          handle: `child-${++children}`,
          strategy: { type: 'child', parent: 'source' },
        }),
      ),
    /** Destroy the children made so far (not timed: a copy's children take a tree's space each). */
    dropChildren: async () => {
      for (; children >= 1; children--) await plugin.call('destroyVolume', { handle: `child-${children}` });
    },
    close: async function () {
      await this.dropChildren();
      await plugin.call('destroyVolume', { handle: 'source' });
    },
  };
}

export default async function bench() {
  const scratch = await mkdtemp(join(tmpdir(), 'conveyor-bench-handoff-'));
  const rows = [];
  let loop;
  const opened = [];
  try {
    const naive = await driver('naive', join(scratch, 'naive'));
    opened.push(naive);
    // The baseline: the same tree, copied by cp -a on the same filesystem, in the same run.
    const cpTimes = [];
    const naiveTimes = [];
    for (let round = 0; round < COPY_ROUNDS; round++) {
      const copy = () => run('cp', ['-a', naive.source, join(scratch, 'cp-copy')]);
      const sides = [
        async () => {
          cpTimes.push(await timed(copy));
          await rm(join(scratch, 'cp-copy'), { recursive: true, force: true });
        },
        async () => {
          naiveTimes.push(await naive.handoff());
          await naive.dropChildren();
        },
      ];
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
    }
    const cp = summarise(cpTimes).median;
    const naiveTime = summarise(naiveTimes).median;
    rows.push([`\`cp -a\` of the tree, baseline (median of ${COPY_ROUNDS})`, fmt(cp), '1.00×']);
    rows.push([
      `naive: child is a full copy (median of ${COPY_ROUNDS})`,
      fmt(naiveTime),
      ratio(naiveTime, cp),
    ]);

    let worst = 0;
    if (!isRoot) {
      rows.push(['overlay, btrfs', 'skipped: they need root', '']);
    } else {
      const overlay = await driver('overlay', join(scratch, 'overlay'));
      opened.push(overlay);
      const sides = [['overlay: child is an overlay mount', overlay]];
      try {
        loop = await btrfsLoop(scratch);
        const btrfs = await driver('btrfs', join(loop.path, 'volumes'));
        opened.push(btrfs);
        sides.push(['btrfs: child is a snapshot subvolume', btrfs]);
      } catch (error) {
        rows.push([
          'btrfs',
          `skipped: no btrfs loop filesystem (${error.stderr?.trim() || error.message})`,
          '',
        ]);
      }
      for (const [label, side] of sides) {
        const times = [];
        for (let i = 0; i < COW_CHILDREN; i++) times.push(await side.handoff());
        const { median } = summarise(times);
        worst = Math.max(worst, median);
        rows.push([`${label} (median of ${COW_CHILDREN})`, fmt(median), ratio(median, cp)]);
      }
    }
    return {
      title: `Volume handoff: a child of a volume holding ${FILES.toLocaleString('en')} files, ${(BYTES / 1024 ** 3).toFixed(2)} GiB`,
      columns: ['what', 'time', 'vs cp -a'],
      rows,
      ...(isRoot ? { ratio: worst / cp, target: 0.01 } : {}),
    };
  } finally {
    for (const side of opened.reverse()) await side.close().catch(() => undefined);
    await loop?.stop().catch((error) => console.error(`btrfs loop not removed: ${error.message}`));
    await rm(scratch, { recursive: true, force: true });
  }
}
