import type { resourceType } from '@conveyor/plugin-api';
import { currentTime } from './clock.js';
import { parseSource } from './source.js';
import type { TimeSource } from './types.js';
import { formatRfc3339 } from './zone.js';

/** Record the current time, e.g. when a long task finished, as a version of the resource. */
export function put(request: resourceType.PutRequest): resourceType.PutResponse {
  const { zone } = parseSource(request.source as TimeSource);
  return { version: { time: formatRfc3339(currentTime(), zone) }, metadata: [] };
}
