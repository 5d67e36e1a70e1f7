import { setTimeout as sleep } from 'node:timers/promises';
import { type CallContext, PluginError, type resourceType } from '@conveyor/plugin-api';
import { parseGoDuration } from './go-duration.js';
import { sayer } from './say.js';
import { DEFAULT_INITIAL_VERSION, type MockSource, type MockVersion } from './types.js';
import { asVersion } from './version.js';

/**
 * force_version wins; otherwise the given version comes back unchanged (so `check-resource --from
 * version:foo` makes foo); otherwise the initial version, unless no_initial_version.
 */
export async function check(
  request: resourceType.CheckRequest,
  context: CallContext,
): Promise<resourceType.CheckResponse> {
  const source = request.source as MockSource;
  sayer(context, source);
  if (source.check_delay) {
    const delay = parseGoDuration(source.check_delay);
    if (delay === undefined) {
      throw new PluginError(
        'MOCK_BAD_CHECK_DELAY',
        `malformed check_delay duration ${JSON.stringify(source.check_delay)}: use a Go duration such as 500ms, 10s or 1m30s`,
      );
    }
    if (delay > 0) await sleep(delay);
  }
  if (source.check_failure) {
    throw new PluginError('MOCK_CHECK_FAILED', `intentionally failing to check: ${source.check_failure}`);
  }
  if (source.force_version) return { versions: [{ version: source.force_version }] };
  if (request.version) return { versions: [asVersion(request.version as MockVersion)] };
  if (source.no_initial_version) return { versions: [] };
  return { versions: [{ version: source.initial_version || DEFAULT_INITIAL_VERSION }] };
}
