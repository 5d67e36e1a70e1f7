/**
 * @conveyor/plugin-api/volume-kit: what every volume driver on a host needs and none should write
 * twice. Volumes kept on disk with their records (VolumeStore), tar streaming in and out with the
 * guard that refuses entries escaping the volume, copying and removing trees, shifting owners into
 * a user namespace's ids, and running the host tools (mount, btrfs) a driver shells out to.
 * Failures carry the driver's own code prefix.
 */
export { copyTree } from './copy-tree.js';
export { VOLUME_KIT_FAILURES, type VolumeKitFailure, volumeError } from './errors.js';
export { extractTar, type TarOptions } from './extract-tar.js';
export { FILESYSTEM_MAGIC, type FilesystemType, filesystemType } from './filesystem-type.js';
export { packTar } from './pack-tar.js';
export { assertResolvesInside, exists, isErrno, resolveInside } from './paths.js';
export { removeTree } from './remove-tree.js';
export { CommandFailedError, runCommand } from './run-command.js';
export { ownByMappedRoot, type ShiftOwnershipOptions, shiftOwnership } from './shift-ownership.js';
export { streamIntoVolume, streamOutOfVolume, type VolumeStreamOptions } from './streams.js';
export { type DeferredSymlink, type DirectoryTimes, TarGuard } from './tar-guard.js';
export { matchesLabels, type VolumeRecord, VolumeStore, type VolumeStoreOptions } from './volume-store.js';
