import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CallContext, resourceType } from '@conveyor/plugin-api';
import { hostDirectory, pathInside } from './directory.js';
import { sayer } from './say.js';
import type { MockGetParams, MockSource, MockVersion } from './types.js';
import { asVersion } from './version.js';

/**
 * Write `./version`, `./privileged` and the created files (source's create_files, then params'
 * create_files_via_params over them). mirror_self writes the image metadata but no rootfs: this
 * mock has no image of itself to copy.
 */
export async function get(
  request: resourceType.GetRequest,
  context: CallContext,
): Promise<resourceType.GetResponse> {
  const source = request.source as MockSource;
  const params = (request.params ?? {}) as MockGetParams;
  const version = asVersion(request.version as MockVersion);
  const dir = hostDirectory(request.directory);
  const say = sayer(context, source);

  // Concourse's mock reports whether its container was privileged; running in Conveyor, it is not.
  await writeFile(join(dir, 'privileged'), 'false\n');
  say(`fetching version: ${version.version}`);
  await writeFile(join(dir, 'version'), `${version.version}\n`);

  if (source.mirror_self || params.mirror_self_via_params) {
    say(
      `mirroring self image (via params: ${params.mirror_self_via_params === true}): metadata.json only, no rootfs`,
    );
    const metadata = { env: [`MIRRORED_VERSION=${version.version}`], user: 'root' };
    await writeFile(join(dir, 'metadata.json'), `${JSON.stringify(metadata)}\n`);
  }

  const files = { ...source.create_files, ...params.create_files_via_params };
  for (const [path, content] of Object.entries(files)) {
    const file = pathInside(dir, path, 'create_files path');
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o644 });
  }

  return { version, metadata: source.metadata ?? [] };
}
