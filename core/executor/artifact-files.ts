import { ConveyorError } from '../errors/index.js';
import type { RunScope } from './run-scope.js';
import type { ExecutorDeps } from './types.js';
import { readVolumeFile } from './volume-files.js';

/** `ARTIFACT/path/in/it` → its two parts, as Concourse splits task files, load_var and set_pipeline paths. */
export function splitArtifactPath(file: string, what: string): { artifact: string; path: string } {
  const slash = file.indexOf('/');
  const artifact = slash > 0 ? file.slice(0, slash) : '';
  const path = slash > 0 ? file.slice(slash + 1) : '';
  if (!artifact || !path) {
    throw new ConveyorError(
      'CC_E_EXEC_ARTIFACT_NOT_FOUND',
      `${what} ${JSON.stringify(file)} does not say which artifact it is in: write it as ARTIFACT/path/to/file`,
      { details: { file } },
    );
  }
  return { artifact, path };
}

/** Read `ARTIFACT/path` from the build's artifacts. */
export async function readArtifactFile(
  deps: ExecutorDeps,
  scope: RunScope,
  file: string,
  what: string,
): Promise<Buffer> {
  const { artifact, path } = splitArtifactPath(file, what);
  const volume = scope.artifact(artifact);
  if (!volume) {
    const known = [...scope.artifacts().keys()];
    throw new ConveyorError(
      'CC_E_EXEC_ARTIFACT_NOT_FOUND',
      `${what} ${JSON.stringify(file)} is in artifact ${JSON.stringify(artifact)}, which this build does not have${known.length ? ` (it has ${known.join(', ')})` : ''}; add a get step or a task output named ${artifact} before this step`,
      { details: { artifact, path } },
    );
  }
  return readVolumeFile(deps.volumes, volume, path, { what: `artifact ${JSON.stringify(artifact)}` });
}
