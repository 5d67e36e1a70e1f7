import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { resourceType } from '@conveyor/plugin-api';
import { currentTime } from './clock.js';
import { hostDirectory } from './directory.js';
import { parseSource } from './source.js';
import type { TimeSource, TimeVersion } from './types.js';
import { formatRfc3339 } from './zone.js';

/**
 * Write `./input`, the request's source and version as JSON (tasks read the time from it), and
 * return the version; a get of no particular time gets the current one.
 */
export async function get(request: resourceType.GetRequest): Promise<resourceType.GetResponse> {
  const dir = hostDirectory(request.directory);
  const given = (request.version as TimeVersion).time;
  const version = {
    time: given ?? formatRfc3339(currentTime(), parseSource(request.source as TimeSource).zone),
  };
  await writeFile(join(dir, 'input'), `${JSON.stringify({ source: request.source, version })}\n`, {
    mode: 0o644,
  });
  return { version, metadata: [] };
}
