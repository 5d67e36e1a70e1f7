import { PluginError, type resourceType } from '@conveyor/plugin-api';
import { currentTime } from './clock.js';
import { isDue } from './schedule.js';
import { parseSource } from './source.js';
import type { TimeSource, TimeVersion } from './types.js';
import { formatRfc3339, parseRfc3339 } from './zone.js';

/**
 * As the Go resource: the given version first (unchanged, so the core knows it), then the
 * current time when it is due. With no version, initial_version makes the current time at once.
 */
export function check(request: resourceType.CheckRequest): resourceType.CheckResponse {
  return checkAt(request, currentTime());
}

/** check, with the current instant (ms) given. */
export function checkAt(request: resourceType.CheckRequest, now: number): resourceType.CheckResponse {
  const schedule = parseSource(request.source as TimeSource);
  const given = (request.version as TimeVersion | undefined)?.time;
  const current = { time: formatRfc3339(now, schedule.zone) };

  if (given === undefined) {
    if (schedule.initialVersion) return { versions: [current] };
    return { versions: isDue(schedule, now, undefined) ? [current] : [] };
  }
  const previous = parseRfc3339(given);
  if (previous === undefined) {
    throw new PluginError(
      'TIME_BAD_VERSION',
      `version time ${JSON.stringify(given)} is not an RFC 3339 timestamp such as 2006-01-02T15:04:05Z`,
    );
  }
  return { versions: isDue(schedule, now, previous) ? [{ time: given }, current] : [{ time: given }] };
}
