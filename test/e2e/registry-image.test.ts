import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/**
 * The built-in `registry-image` resource type as Concourse pipelines use it: a resource that
 * checks an image's tag, a get whose rootfs a task runs in (`image:`), a get in OCI format handed
 * to a put that pushes it elsewhere.
 */
describe.skipIf(unavailable !== undefined)('the registry-image resource type, end to end', () => {
  let containerd: TestContainerd;
  let registry: TestRegistry;
  let scratch: string;
  let imageDir: string;
  let base: OciImage;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conveyor-e2e-registry-image-'));
    await chmod(scratch, 0o755);
    imageDir = await imageScratch();
    [containerd, registry] = await Promise.all([startContainerd(), startDockerRegistry({ auth: true })]);
    base = await buildBusyboxImage(imageDir, { name: 'base', files: { 'image-version': 'base v1' } });
    await registry.push(base, 'e2e/base', 'v1');
  }, 300_000);

  afterAll(async () => {
    await registry?.stop();
    await containerd?.stop();
    for (const dir of [scratch, imageDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('checks a tag, runs a task in the image it got, and pushes the image to another repository', async () => {
    const home = join(scratch, 'home');
    const env = { CONVEYOR_HOME: join(home, 'cli') };
    const config = join(scratch, 'conveyor.yaml');
    await writeFile(
      config,
      containerdServerConfig({ address: containerd.address, namespace: 'e2e-registry-image', scratch }),
    );
    const server: CcServer = await startCcServer(['--data-dir', join(home, 'data'), '--config', config], env);
    const cc = ccCommand(env);
    try {
      const credentials = `username: ${registry.credentials?.username}, password: ((registry-password))`;
      const pipelineFile = join(scratch, 'pipeline.yml');
      await writeFile(
        pipelineFile,
        `resources:
  - name: base
    type: registry-image
    check_every: never
    source: { repository: ${registry.host}/e2e/base, tag: v1, ${credentials} }
  - name: copy
    type: registry-image
    check_every: never
    source: { repository: ${registry.host}/e2e/copy, tag: latest, ${credentials} }
jobs:
  - name: use-and-push
    plan:
      - get: base
      - task: inside
        image: base
        config:
          platform: linux
          run: { path: sh, args: [-ec, 'echo "inside $(cat /image-version)"'] }
      - get: base-oci
        resource: base
        params: { format: oci }
      - put: copy
        params: { image: base-oci/image.tar }
`,
      );
      const set = await cc(
        'set-pipeline',
        '-p',
        'images',
        '-c',
        pipelineFile,
        '-v',
        `registry-password=${registry.credentials?.password}`,
        '-n',
      );
      expect(set.code, set.stderr + set.stdout).toBe(0);
      expect((await cc('unpause-pipeline', '-p', 'images')).code).toBe(0);

      const check = await cc('check-resource', '-r', 'images/base');
      expect(check.code, check.stderr + check.stdout).toBe(0);
      expect(check.stdout).toContain(base.manifest.digest);

      const build = await cc('trigger-job', '-j', 'images/use-and-push', '-w');
      expect(build.code, build.stderr + build.stdout).toBe(0);
      expect(build.stdout).toContain('inside base v1');
      expect(build.stdout).not.toContain(registry.credentials?.password ?? '<none>');

      // The pushed image is the same image: its tag names the digest the base's tag does.
      const copied = await cc('check-resource', '-r', 'images/copy');
      expect(copied.code, copied.stderr + copied.stdout).toBe(0);
      expect(copied.stdout).toContain(base.manifest.digest);
    } finally {
      await server.stop();
    }
  }, 600_000);
});
