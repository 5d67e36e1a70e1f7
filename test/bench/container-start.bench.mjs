// Time to create a container from the busybox image, run `true` in it and wait for its exit, then
// remove it, through the containerd runtime plugin, next to containerd's own `ctr run --rm` of the
// same image against the same containerd, in the same run. The image is unpacked before timing
// starts (both sides then reuse its snapshots), and the sides alternate in rounds. Needs root,
// containerd, runc and busybox-static.
import { execFile } from 'node:child_process';
import { chmod, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadPluginForTest } from '@conveyor/plugin-api/testing';
// vitest (a root devDependency) re-exports Vite's createServer.
import { createViteServer } from 'vitest/node';
import { fmt, ratio, sample, summarise } from './stats.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const packageDir = fileURLToPath(new URL('../../plugins/runtime-containerd/', import.meta.url));
const NAMESPACE = 'bench';
const WARMUP = 3;
const ROUNDS = 5;
const PER_ROUND = 6;

/** The test harness is TypeScript: load it through Vite's SSR module loader. */
async function loadHarness() {
  const vite = await createViteServer({
    root,
    configFile: false,
    logLevel: 'silent',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false },
  });
  const containerd = await vite.ssrLoadModule('/test/harness/containerd.ts');
  const images = await vite.ssrLoadModule('/test/harness/oci-images.ts');
  return { containerd, images, close: () => vite.close() };
}

export default async function bench() {
  const harness = await loadHarness();
  const unavailable = harness.containerd.containerdUnavailable() ?? harness.images.busyboxUnavailable();
  if (unavailable) {
    await harness.close();
    return { title: `Container start (skipped: ${unavailable})`, columns: ['what'], rows: [] };
  }
  const scratch = await harness.images.imageScratch();
  await chmod(scratch, 0o711);
  const image = await harness.images.buildBusyboxImage(scratch);
  const containerd = await harness.containerd.startContainerd();
  const cgroupParent = `conveyor-bench-${process.pid}`;
  try {
    await containerd.ctr(['images', 'import', image.tarball], { namespace: NAMESPACE });
    const ctrImage = `docker.io/library/${image.reference}`;
    const config = {
      address: containerd.address,
      namespace: NAMESPACE,
      stateDir: `${scratch}/state`,
      cgroupParent,
    };
    const userns = await loadPluginForTest(packageDir, config);
    const plain = await loadPluginForTest(packageDir, { ...config, userNamespace: false });

    let n = 0;
    const ctrRun = () =>
      run('ctr', [
        '--address',
        containerd.address,
        '--namespace',
        NAMESPACE,
        'run',
        '--rm',
        ctrImage,
        `ctr-${++n}`,
        'true',
      ]);
    const pluginRun = (plugin) => async () => {
      const handle = `bench-${++n}`;
      await plugin.call('createContainer', {
        handle,
        spec: { image: { type: 'oci', reference: image.reference, layoutPath: image.layoutDir } },
      });
      const { value } = await plugin.call('run', { handle, processId: 'true', process: { path: 'true' } });
      if (value.exitStatus !== 0) throw new Error(`true exited ${value.exitStatus}`);
      await plugin.call('destroyContainer', { handle });
    };
    const sides = [
      { name: 'raw `ctr run --rm` (create, start, wait, delete)', fn: ctrRun, times: [] },
      {
        name: 'plugin: createContainer + run `true` + destroyContainer (user namespace)',
        fn: pluginRun(userns),
        times: [],
      },
      { name: 'plugin, as above, without a user namespace', fn: pluginRun(plain), times: [] },
    ];
    for (const side of sides) await sample(WARMUP, side.fn);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) side.times.push(...(await sample(PER_ROUND, side.fn)));
    }
    const [base, ...ours] = sides.map((side) => ({ ...side, stats: summarise(side.times) }));
    return {
      title: `Container start: busybox, \`true\`, create → exit → removed (sequential, ${ROUNDS}×${PER_ROUND} each)`,
      columns: ['what', 'median', 'p99', 'median vs ctr'],
      rows: [
        [base.name, fmt(base.stats.median), fmt(base.stats.p99), '1.00×'],
        ...ours.map((side) => [
          side.name,
          fmt(side.stats.median),
          fmt(side.stats.p99),
          ratio(side.stats.median, base.stats.median),
        ]),
      ],
      ratio: ours[0].stats.median / base.stats.median,
      target: 1.5,
    };
  } finally {
    await containerd.stop();
    await harness.containerd.removeCgroups(cgroupParent);
    await rm(scratch, { recursive: true, force: true });
    await harness.close();
  }
}
