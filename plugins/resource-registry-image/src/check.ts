import type { CallContext, resourceType } from '@conveyor/plugin-api';
import { isDigest, isOciFailure } from '@conveyor/plugin-api/oci';
import { CODE_PREFIX } from './errors.js';
import { parseSource } from './source.js';

/**
 * The digest the tag points at now, as Concourse's resource answers it: the given version first
 * when it differs and the repository still has it (oldest first, as the contract wants), then the
 * current one. A repository or tag that does not exist has no versions; bad credentials or an
 * unreachable registry fail the check.
 */
export async function check(
  request: resourceType.CheckRequest,
  context: CallContext,
): Promise<resourceType.CheckResponse> {
  const source = parseSource(request.source);
  const client = source.client(context.signal);
  let digest: string;
  try {
    digest = (await client.resolve(source.tag)).digest;
  } catch (error) {
    if (isOciFailure(error, CODE_PREFIX, 'IMAGE_NOT_FOUND')) {
      context.log(`${source.name} has no tag ${source.tag} (yet)`);
      return { versions: [] };
    }
    throw error;
  }
  const given = (request.version as { digest?: unknown } | undefined)?.digest;
  if (typeof given === 'string' && given !== digest && isDigest(given) && (await client.hasManifest(given))) {
    return { versions: [{ digest: given }, { digest }] };
  }
  return { versions: [{ digest }] };
}
