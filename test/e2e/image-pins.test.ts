import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdUnavailable, startContainerd, type TestContainerd } from '../harness/containerd.js';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '../harness/docker-registry.js';
import { buildBusyboxImage, busyboxUnavailable, imageScratch, type OciImage } from '../harness/oci-images.js';
import { type CcServer, ccCommand, containerdServerConfig, startCcServer } from './cc-server.js';

const unavailable = containerdUnavailable() ?? dockerRegistryUnavailable() ?? busyboxUnavailable();

describe.skipIf(unavailable !== undefined)('an image tag within one build', () => {
  let containerd: TestContainerd;
  let registry: TestRegistry;
  let scratch: string;
  let imageDir: string;
  let second: OciImage;
  let gate: Server;
  let gateUrl: string;
  let moved = false;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conveyor-e2e-pins-'));
    await chmod(scratch, 0o755);
    imageDir = await imageScratch();
    [containerd, registry] = await Promise.all([startContainerd(), startDockerRegistry()]);
    const first = await buildBusyboxImage(imageDir, { name: 'moving', files: { 'image-version': 'v1' } });
    second = await buildBusyboxImage(imageDir, { name: 'moving-2', files: { 'image-version': 'v2' } });
    await registry.push(first, 'e2e/moving', 'latest');
    // The build's first task asks the gate, which moves the tag before it answers: the build's
    // second task starts after the tag has moved.
    gate = createServer((_request, response) => {
      const answer = () => response.end(moved ? 'moved' : 'not moved');
      if (moved) return answer();
      registry.push(second, 'e2e/moving', 'latest').then(
        () => {
          moved = true;
          answer();
        },
        (error: Error) => {
          response.statusCode = 500;
          response.end(error.message);
        },
      );
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
  }, 300_000);

  afterAll(async () => {
    await new Promise((resolve) => gate?.close(resolve));
    await registry?.stop();
    await containerd?.stop();
    for (const dir of [scratch, imageDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  const imageResource = () => `{ type: registry-image, source: { repository: ${registry.host}/e2e/moving } }`;
  const pipeline = () => `
jobs:
  - name: twice
    plan:
      - task: first
        config:
          platform: linux
          image_resource: ${imageResource()}
          run: { path: sh, args: [-ec, 'echo "first ran $(cat /image-version)"; wget -qO- ${gateUrl}/move; echo'] }
      - task: second
        config:
          platform: linux
          image_resource: ${imageResource()}
          run: { path: sh, args: [-ec, 'echo "second ran $(cat /image-version)"'] }
`;

  it('runs the image the build first saw, though the tag moves while it runs; the next build runs the new one', async () => {
    const home = join(scratch, 'home');
    const env = { CONVEYOR_HOME: join(home, 'cli') };
    const config = join(scratch, 'conveyor.yaml');
    await writeFile(
      config,
      containerdServerConfig({ address: containerd.address, namespace: 'e2e-pins', scratch }),
    );
    const server: CcServer = await startCcServer(['--data-dir', join(home, 'data'), '--config', config], env);
    const cc = ccCommand(env);
    try {
      const pipelineFile = join(scratch, 'pipeline.yml');
      await writeFile(pipelineFile, pipeline());
      const set = await cc('set-pipeline', '-p', 'pins', '-c', pipelineFile, '--non-interactive');
      expect(set.code, set.stderr + set.stdout).toBe(0);
      expect((await cc('unpause-pipeline', '-p', 'pins')).code).toBe(0);

      const during = await cc('trigger-job', '-j', 'pins/twice', '-w');
      expect(during.code, during.stderr + during.stdout).toBe(0);
      expect(during.stdout).toContain('first ran v1');
      expect(during.stdout).toMatch(/^moved$/m);
      expect(during.stdout).toContain('second ran v1');

      const after = await cc('trigger-job', '-j', 'pins/twice', '-w');
      expect(after.code, after.stderr + after.stdout).toBe(0);
      expect(after.stdout).toContain('first ran v2');
      expect(after.stdout).toContain('second ran v2');
    } finally {
      await server.stop();
    }
    // No record is kept per pinned digest: the tag's record names what the tag names now.
    const images = await containerd.ctr(['images', 'ls', '-q'], { namespace: 'e2e-pins' });
    expect(images.split('\n').filter((name) => name.includes('e2e/moving'))).toEqual([
      `${registry.host}/e2e/moving:latest`,
    ]);
  }, 600_000);
});
