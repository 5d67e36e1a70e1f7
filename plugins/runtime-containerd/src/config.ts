import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { OciImageSpec } from './image-sources.js';

/** The plugin's configuration, as its manifest's configSchema declares it. */
export interface ContainerdRuntimeConfig {
  /** containerd's gRPC socket. */
  address?: string;
  /** The containerd namespace Conveyor's containers, images and leases live in. */
  namespace?: string;
  snapshotter?: string;
  /** The containerd runtime (shim) tasks run with. */
  runtime?: string;
  /** Where per-container files live: stdio FIFOs, /etc/hosts, /etc/resolv.conf. */
  stateDir?: string;
  /** The cgroup under which every container's cgroup is made. */
  cgroupParent?: string;
  /** Unprivileged containers' root is this host uid/gid range; `false` runs them without a user namespace. */
  userNamespace?: { hostUid: number; hostGid: number; size: number } | false;
  /** `host`: containers share the host's network; `none`: only a loopback of their own. */
  network?: 'host' | 'none';
  /** The resolv.conf containers get. */
  resolvConf?: string;
  /**
   * A static init for the host to bind-mount into containers as their PID 1 (Debian's tini-static),
   * or false for none: without one a step's first process is PID 1, which ignores every signal it
   * has no handler for (SIGTERM included) and reaps no orphans.
   */
  init?: string | false;
  /**
   * The image a container runs in when its step has none of its own (the contract's `host` image:
   * Concourse tasks without image_resource, written for a worker with a default rootfs). Pulled or
   * imported like a step's `oci` image. Without it such containers are refused.
   */
  defaultImage?: OciImageSpec;
}

export interface FilledConfig {
  address: string;
  namespace: string;
  snapshotter: string;
  runtime: string;
  stateDir: string;
  cgroupParent: string;
  userNamespace: { hostUid: number; hostGid: number; size: number } | false;
  network: 'host' | 'none';
  resolvConf: string;
  init: string | undefined;
  defaultImage: OciImageSpec | undefined;
}

/** Where Debian's tini package puts its static build. */
const TINI_STATIC = '/usr/bin/tini-static';

const DEFAULTS = {
  address: '/run/containerd/containerd.sock',
  namespace: 'conveyor',
  snapshotter: 'overlayfs',
  runtime: 'io.containerd.runc.v2',
  cgroupParent: 'conveyor',
  // Past the ranges Debian hands out in /etc/subuid (100000 + 65536·n for the first users).
  userNamespace: { hostUid: 1_000_000_000, hostGid: 1_000_000_000, size: 65_536 },
  network: 'host',
  resolvConf: '/etc/resolv.conf',
} as const;

export function fillConfig(config: ContainerdRuntimeConfig): FilledConfig {
  return {
    address: config.address ?? DEFAULTS.address,
    namespace: config.namespace ?? DEFAULTS.namespace,
    snapshotter: config.snapshotter ?? DEFAULTS.snapshotter,
    runtime: config.runtime ?? DEFAULTS.runtime,
    stateDir: resolve(config.stateDir ?? join(tmpdir(), 'conveyor-containerd')),
    cgroupParent: config.cgroupParent ?? DEFAULTS.cgroupParent,
    userNamespace: config.userNamespace ?? { ...DEFAULTS.userNamespace },
    network: config.network ?? DEFAULTS.network,
    resolvConf: config.resolvConf ?? DEFAULTS.resolvConf,
    init:
      config.init === false
        ? undefined
        : (config.init ?? (existsSync(TINI_STATIC) ? TINI_STATIC : undefined)),
    defaultImage: config.defaultImage,
  };
}
