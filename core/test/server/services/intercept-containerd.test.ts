import { randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InterceptIo, TerminalSize } from '@conveyor/core/api';
import { applyTrackedChanges } from '@conveyor/core/db';
import {
  containerdUnavailable,
  removeCgroups,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
} from '@conveyor/test/harness/oci-images.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServicesWorld, setPipeline, startWorld } from './helpers.js';

/*
 * cc intercept with a terminal, on the containerd runtime: a shell in a step's container gets a
 * pseudo-terminal of the client's size, and follows the client's resizes.
 *
 * The test needs root, containerd, runc and busybox-static, as the containerd runtime's own tests
 * do: it skips loudly without them on a laptop, and fails in CI.
 */
const unavailable = containerdUnavailable() ?? busyboxUnavailable();

const NAMESPACE = `conveyor-intercept-${process.pid}`;
const CGROUP_PARENT = `conveyor-intercept-${process.pid}`;
const config = `jobs:
- name: unit
  plan:
  - task: shell
    config:
      platform: linux
      run: { path: sh }
`;

/** Stdin and resizes the test hands over as it goes, like a person at a terminal. */
class Keyboard implements AsyncIterable<Uint8Array | TerminalSize> {
  readonly #queue: Array<Uint8Array | TerminalSize> = [];
  #ended = false;
  #wake: (() => void) | undefined;

  send(item: Uint8Array | TerminalSize): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array | TerminalSize> {
    for (;;) {
      const item = this.#queue.shift();
      if (item !== undefined) yield item;
      else if (this.#ended) return;
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

describe.skipIf(unavailable !== undefined)('cc intercept on the containerd runtime', () => {
  let containerd: TestContainerd;
  let scratch: string;
  let image: OciImage;
  let world: ServicesWorld;
  let handle: string;
  let buildId: number;

  beforeAll(async () => {
    scratch = await imageScratch();
    await chmod(scratch, 0o711);
    image = await buildBusyboxImage(scratch, { env: ['PATH=/bin'] });
    containerd = await startContainerd();
    world = await startWorld({
      runtime: {
        dir: fileURLToPath(new URL('../../../../plugins/runtime-containerd/', import.meta.url)),
        name: 'containerd',
        config: {
          address: containerd.address,
          namespace: NAMESPACE,
          stateDir: join(scratch, 'state'),
          cgroupParent: CGROUP_PARENT,
        },
      },
    });
    await setPipeline(world, 'app', config);
    buildId = (await world.services.jobs.trigger({ team: 'main', pipeline: 'app', job: 'unit' }, 'tester'))
      .id;
    // The step's container, as the executor makes it: recorded, created with the build's labels.
    handle = `b${buildId}-c-${randomBytes(4).toString('hex')}`;
    const change = { kind: 'container' as const, handle, plugin: 'containerd', worker: 'local', buildId };
    await applyTrackedChanges(world.pool, [{ ...change, state: 'creating' }]);
    await world.runtime.call('createContainer', {
      handle,
      spec: {
        image: { type: 'oci', reference: image.reference, layoutPath: image.layoutDir },
        dir: '/tmp/build/work',
        env: { GREETING: 'hello' },
      },
      labels: {
        'conveyor.dev/owner': 'conveyor',
        'conveyor.dev/build': String(buildId),
        'conveyor.dev/step': '2',
        'conveyor.dev/role': 'task',
      },
    });
    await applyTrackedChanges(world.pool, [{ ...change, state: 'created' }]);
  }, 120_000);

  afterAll(async () => {
    if (handle) await world?.runtime.call('destroyContainer', { handle }).catch(() => undefined);
    await world?.close();
    await containerd?.stop();
    await removeCgroups(CGROUP_PARENT);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('gives a shell a terminal of the client’s size, resized as the client’s is', async () => {
    const prepared = await world.services.intercept.prepare({
      buildId,
      step: 'shell',
      command: [
        'sh',
        '-c',
        'test -t 0 && echo "on a terminal in $PWD with $GREETING"; stty size; while read x; do stty size; done',
      ],
      tty: true,
      ttySize: { columns: 100, rows: 30 },
      term: 'xterm',
    });
    expect(prepared.container.handle).toBe(handle);

    const keyboard = new Keyboard();
    let output = '';
    const gone = new AbortController();
    const io: InterceptIo = {
      input: keyboard,
      onOutput: (stream, data) => {
        // With a terminal, everything comes as stdout.
        expect(stream).toBe('stdout');
        output += data;
      },
      signal: gone.signal,
    };
    const running = prepared.run(io);
    // The shell reports the size it started with before the client's terminal changes.
    for (let i = 0; i < 100 && !output.includes('30 100'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain('30 100');
    keyboard.send({ columns: 120, rows: 40 });
    // The resize and the keys travel apart: press Enter until the shell sees the new size.
    for (let i = 0; i < 100 && !output.includes('40 120'); i++) {
      keyboard.send(Buffer.from('\n'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Ctrl-D: end of input for the shell's read, as at a terminal.
    keyboard.send(Buffer.from([4]));
    keyboard.end();
    expect(await running).toEqual({ exitStatus: 0 });
    expect(output).toContain('on a terminal in /tmp/build/work with hello');
    expect(output).toContain('30 100');
    expect(output).toContain('40 120');
  });
});
