import { PluginError, type VolumeRef } from '@conveyor/plugin-api';

/** The host path of the step's directory: the time resource writes a file there. */
export function hostDirectory(directory: VolumeRef): string {
  if (directory.location.type !== 'host-path') {
    throw new PluginError(
      'TIME_DIRECTORY_UNSUPPORTED',
      `the time resource needs a directory on this host, but volume ${directory.handle} is a ${directory.location.type} volume`,
    );
  }
  return directory.location.path;
}
