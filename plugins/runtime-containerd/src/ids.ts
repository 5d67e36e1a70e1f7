import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { FilledConfig } from './config.js';

/** containerd's identifiers are at most 76 characters; our handles may have 128. */
const MAX_ID = 64;

/** The containerd id for a handle: the handle itself when it fits, else a digest of it. */
export function containerdId(handle: string): string {
  if (handle.length <= MAX_ID) return handle;
  return `h-${createHash('sha256').update(handle).digest('hex').slice(0, 40)}`;
}

/** Labels the plugin keeps on a container for itself; they are not shown as the container's. */
export const LABEL_PREFIX = 'io.conveyor.runtime/';
export const LABELS = {
  handle: `${LABEL_PREFIX}handle`,
  /** The processId of the process that is the task's init (the first run). */
  initProcess: `${LABEL_PREFIX}init-process`,
  lease: `${LABEL_PREFIX}lease`,
  /** The working directory processes start in. */
  dir: `${LABEL_PREFIX}dir`,
  /** For a volume image: the host directory under the container's overlay. */
  rootfsLower: `${LABEL_PREFIX}rootfs-lower`,
  /** Where the init (tini) is mounted in the container, when it has one. */
  init: `${LABEL_PREFIX}init`,
  /** `<uid>:<gid>:<size>` of the user namespace, or absent when privileged. */
  userns: `${LABEL_PREFIX}userns`,
} as const;

/**
 * The container extension that keeps the container's own process (env, user, working directory):
 * the spec's process is replaced by each task's first process, execs start from this one.
 */
export const BASE_PROCESS_EXTENSION = `${LABEL_PREFIX}base-process`;

export const leaseId = (id: string) => `conveyor-${id}`;

/** A container's own directory: FIFOs, hosts and resolv.conf, scratch space. */
export const containerDir = (config: FilledConfig, id: string) => join(config.stateDir, config.namespace, id);
