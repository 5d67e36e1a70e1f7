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
import { buildBusyboxImage, busyboxUnavailable, imageScratch } from '../harness/oci-images.js';
import { type CcServer, ccCommand, containerdServerConfig, startCcServer } from './cc-server.js';

const unavailable = containerdUnavailable() ?? dockerRegistryUnavailable() ?? busyboxUnavailable();

/**
 * A Concourse resource type written as Concourse resource authors write them: shell scripts in
 * /opt/resource of an image (busybox here), reading JSON on stdin, answering JSON on stdout,
 * logging on stderr. Its versions live in a small HTTP "store" the test controls, so versions can
 * go missing (a force-push) between checks.
 */
const sed = (key: string) => `sed -n 's/.*"${key}":"\\([^"]*\\)".*/\\1/p'`;
const RESOURCE_SCRIPTS = {
  'opt/resource/check': `#!/bin/sh
set -e
payload=$(cat)
url=$(echo "$payload" | ${sed('url')})
echo "checking $url" >&2
out="["; sep=""
for v in $(wget -qO- "$url/versions"); do out="$out$sep{\\"ref\\":\\"$v\\"}"; sep=","; done
echo "$out]"
`,
  'opt/resource/in': `#!/bin/sh
set -e
payload=$(cat)
url=$(echo "$payload" | ${sed('url')})
ref=$(echo "$payload" | ${sed('ref')})
echo "fetching $ref into $1 (cwd $(pwd))" >&2
if ! wget -qO "$1/content" "$url/content/$ref"; then echo "version $ref is gone from the store" >&2; exit 1; fi
echo "$ref" > "$1/ref"
env | grep -E '^(BUILD_|ATC_)' | sort > "$1/build-env"
echo "{\\"version\\":{\\"ref\\":\\"$ref\\"},\\"metadata\\":[{\\"name\\":\\"fetched\\",\\"value\\":\\"$ref\\"}]}"
`,
  'opt/resource/out': `#!/bin/sh
set -e
payload=$(cat)
url=$(echo "$payload" | ${sed('url')})
file=$(echo "$payload" | ${sed('file')})
echo "pushing $1/$file" >&2
ref=$(wget -qO- --post-data "$(cat "$1/$file")" "$url/push")
echo "{\\"version\\":{\\"ref\\":\\"$ref\\"}}"
`,
};

/** The store behind the resource: ordered versions with contents, and a push that adds one. */
class VersionStore {
  readonly contents = new Map<string, string>([
    ['1', 'first content'],
    ['2', 'second content'],
  ]);
  #next = 3;
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const path = request.url ?? '/';
      if (request.method === 'GET' && path === '/versions') {
        response.end([...this.contents.keys()].join(' '));
      } else if (request.method === 'GET' && path.startsWith('/content/')) {
        const content = this.contents.get(path.slice('/content/'.length));
        response.statusCode = content === undefined ? 404 : 200;
        response.end(content ?? 'no such version');
      } else if (request.method === 'POST' && path === '/push') {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on('end', () => response.end(this.add(body)));
      } else {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  add(content: string): string {
    const ref = String(this.#next++);
    this.contents.set(ref, content);
    return ref;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe.skipIf(unavailable !== undefined)(
  'a Concourse resource-type image (the concourse resource type)',
  () => {
    let containerd: TestContainerd;
    let registry: TestRegistry;
    let store: VersionStore;
    let scratch: string;
    let imageDir: string;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'conveyor-e2e-concourse-'));
      await chmod(scratch, 0o755);
      imageDir = await imageScratch();
      store = new VersionStore();
      [containerd, registry] = await Promise.all([
        startContainerd(),
        startDockerRegistry({ auth: true }),
        store.start(),
      ]);
      const resourceImage = await buildBusyboxImage(imageDir, {
        name: 'store-resource',
        files: RESOURCE_SCRIPTS,
      });
      await registry.push(resourceImage, 'conveyor/store-resource', 'v1');
      await registry.push(await buildBusyboxImage(imageDir, { name: 'tools' }), 'conveyor/tools', 'latest');
    }, 300_000);

    afterAll(async () => {
      await store?.stop();
      await registry?.stop();
      await containerd?.stop();
      for (const dir of [scratch, imageDir]) if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** A `cc up` with its own data dir and conveyor.yaml, and `cc` against it. */
    async function startServer(name: string, serverConfig: string) {
      const home = join(scratch, name);
      const env = { CONVEYOR_HOME: join(home, 'cli') };
      const file = join(scratch, `${name}.yaml`);
      await writeFile(file, serverConfig);
      const server: CcServer = await startCcServer(['--data-dir', join(home, 'data'), '--config', file], env);
      const cc = ccCommand(env);
      /** Sets the pipeline below as e2e, with the registry password as a var, and unpauses it. */
      const setPipeline = async (registryPassword: string) => {
        const pipelineFile = join(home, 'pipeline.yml');
        await writeFile(pipelineFile, pipeline());
        const set = await cc(
          'set-pipeline',
          '-p',
          'e2e',
          '-c',
          pipelineFile,
          '-v',
          `registry-password=${registryPassword}`,
          '--non-interactive',
        );
        expect(set.code, set.stderr + set.stdout).toBe(0);
        expect((await cc('unpause-pipeline', '-p', 'e2e')).code).toBe(0);
      };
      return { server, cc, setPipeline };
    }

    const pipeline = () => {
      const credentials = `username: ${registry.credentials?.username}, password: ((registry-password))`;
      return `
resource_types:
  - name: store
    type: registry-image
    source: { repository: ${registry.host}/conveyor/store-resource, tag: v1, ${credentials} }
resources:
  - name: things
    type: store
    source: { url: ${store.url} }
    check_every: 1h
jobs:
  - name: consume
    plan:
      - get: things
      - task: show
        config:
          platform: linux
          image_resource:
            type: registry-image
            source: { repository: ${registry.host}/conveyor/tools, ${credentials} }
          inputs: [{ name: things }]
          outputs: [{ name: out }]
          run:
            path: sh
            args: [-ec, 'echo "content: $(cat things/content)"; cat things/build-env; echo "made by build $(cat things/ref)" > out/file']
      - put: things
        params: { file: out/file }
  - name: old
    plan:
      - get: things
        version: { ref: "1" }
`;
    };

    it('checks, gets and puts through /opt/resource in containerd, and fails clearly when a version has gone', async () => {
      const { server, cc, setPipeline } = await startServer(
        'containerd',
        containerdServerConfig({ address: containerd.address, namespace: 'e2e-concourse', scratch }),
      );
      try {
        await setPipeline(registry.credentials?.password ?? '');

        // check: the image's /opt/resource/check, its versions in order.
        const check = await cc('check-resource', '-r', 'e2e/things');
        expect(check.code, check.stderr + check.stdout).toBe(0);
        // Newest first, as fly lists them.
        expect(check.stdout).toMatch(/found 2 versions:\s+ref:2\s+ref:1\s/);

        // get (in), a task in an image the runtime pulled itself, put (out).
        const consume = await cc('trigger-job', '-j', 'e2e/consume', '-w');
        expect(consume.code, consume.stderr + consume.stdout).toBe(0);
        expect(consume.stdout).toContain('fetching 2 into /tmp/build/get (cwd /tmp/build/get)');
        expect(consume.stdout).toContain('content: second content');
        expect(consume.stdout).toContain('BUILD_JOB_NAME=consume');
        expect(consume.stdout).toContain('BUILD_PIPELINE_NAME=e2e');
        expect(consume.stdout).toContain('BUILD_TEAM_NAME=main');
        expect(consume.stdout).toMatch(/BUILD_ID=\d+/);
        expect(consume.stdout).toContain('pushing /tmp/build/put/out/file');
        // The credential never reaches the build's log.
        expect(consume.stdout).not.toContain(registry.credentials?.password ?? '<none>');
        expect(store.contents.get('3')).toBe('made by build 2');

        // Versions go missing: the store is force-pushed (1 and 3 gone, 4 new). The check goes on
        // from what exists; a get of a version that is gone (and was never fetched, so no cache
        // holds it) fails with the resource's own words.
        store.contents.delete('1');
        store.contents.delete('3');
        store.add('fourth content');
        const recheck = await cc('check-resource', '-r', 'e2e/things');
        expect(recheck.code, recheck.stderr + recheck.stdout).toBe(0);
        const versions = await cc('resource-versions', '-r', 'e2e/things', '--json');
        expect(versions.stdout).toContain('"4"');

        const old = await cc('trigger-job', '-j', 'e2e/old', '-w');
        expect(old.code, old.stdout).not.toBe(0);
        expect(old.stdout).toContain('version 1 is gone from the store');
        expect(old.stdout).toMatch(/\/opt\/resource\/in of the resource type's image exited with status 1/);
      } finally {
        await server.stop();
      }
      // Every container the resource made is gone with the builds and checks that made it.
      const containers = (
        await containerd.ctr(['containers', 'ls', '-q'], { namespace: 'e2e-concourse' })
      ).trim();
      const tasks = (await containerd.ctr(['tasks', 'ls', '-q'], { namespace: 'e2e-concourse' })).trim();
      expect({ containers, tasks }).toEqual({ containers: '', tasks: '' });
    }, 600_000);

    it('on the local runtime, refuses to run the image and says which runtime to use', async () => {
      const { server, cc, setPipeline } = await startServer(
        'local',
        `runtime: { plugin: local, config: { root: ${join(scratch, 'local-containers')} } }
volumes: { driver: naive, config: { root: ${join(scratch, 'local-volumes')} } }
`,
      );
      try {
        await setPipeline('x');
        const check = await cc('check-resource', '-r', 'e2e/things');
        expect(check.code).toBe(1);
        expect(check.stderr + check.stdout).toMatch(/Concourse resource-type image.*runtime: containerd/s);
      } finally {
        await server.stop();
      }
    }, 120_000);
  },
);
