import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { PluginError, type runtime } from '@conveyor/plugin-api';
import type { FilledConfig } from './config.js';
import type { IdMapping } from './rootfs.js';
import type { ResolvedUser } from './users.js';

/** The type URLs containerd gives an OCI runtime spec and a process spec inside an Any. */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';

/** Where a container's init is bind-mounted. */
export const INIT_PATH = '/.conveyor/init';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** containerd's default capabilities (oci.defaultUnixCaps in containerd 1.6). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Capability names by number (linux/capability.h), for reading /proc/self/status. */
const CAPABILITY_NAMES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((name) => `CAP_${name}`);

let currentCapabilities: string[] | undefined;

/**
 * A privileged container gets every capability this process has, as containerd's
 * WithAllCurrentCapabilities does: asking for one the host withholds (a sandbox may drop
 * CAP_SYS_RESOURCE) makes runc fail.
 */
function allCurrentCapabilities(): string[] {
  if (!currentCapabilities) {
    const status = readFileSync('/proc/self/status', 'utf8');
    const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
    currentCapabilities = CAPABILITY_NAMES.filter((_, bit) => (effective >> BigInt(bit)) & 1n);
  }
  return currentCapabilities;
}

/** containerd's default masked and read-only paths. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  rlimits: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges: boolean;
  consoleSize?: { height: number; width: number };
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: Record<string, unknown>;
}

export interface SpecInput {
  id: string;
  spec: runtime.ContainerSpec;
  /** The image config's Env, User and WorkingDir. */
  imageEnv: string[];
  workingDir: string;
  user: ResolvedUser;
  /** The user namespace, or undefined for a privileged container. */
  mapping: IdMapping | undefined;
  /** Host files bind-mounted as /etc/hosts and /etc/resolv.conf. */
  hostsFile: string;
  resolvConfFile: string;
  config: FilledConfig;
}

/** The argv of a task's first process: under the init when the container has one. */
export function initArgs(init: string | undefined, args: string[]): string[] {
  // -g: signals go to the process's whole group, as the local runtime sends them.
  return init ? [init, '-g', '--', ...args] : args;
}

/**
 * The OCI runtime spec of a container, as containerd's default spec (oci.populateDefaultUnixSpec)
 * plus what Conveyor asks for. Processes run later take this spec's process as their base.
 */
export function buildSpec(input: SpecInput): OciSpec {
  const { spec, mapping, config } = input;
  const privileged = spec.privileged === true;
  const capabilities = privileged ? allCurrentCapabilities() : DEFAULT_CAPABILITIES;
  const hostname = spec.hostname ?? input.id.slice(0, 63);
  const namespaces: Array<{ type: string }> = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (config.network === 'none') namespaces.push({ type: 'network' });
  if (mapping) namespaces.push({ type: 'user' }, { type: 'cgroup' });

  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: ['/bin/sh'],
      env: mergeEnv(input.imageEnv, [spec.env], input.user.home),
      cwd: input.workingDir,
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: !privileged,
    },
    root: { path: 'rootfs', readonly: false },
    hostname,
    mounts: [
      ...systemMounts(privileged, mapping !== undefined, config),
      ...fileMounts(input),
      ...stepMounts(spec, input.workingDir),
    ],
    linux: {
      ...(mapping
        ? {
            uidMappings: [{ containerID: 0, hostID: mapping.hostUid, size: mapping.size }],
            gidMappings: [{ containerID: 0, hostID: mapping.hostGid, size: mapping.size }],
          }
        : {}),
      namespaces,
      resources: {
        devices: [{ allow: privileged, access: 'rwm' }],
        ...(spec.limits?.memoryBytes ? { memory: { limit: spec.limits.memoryBytes } } : {}),
        ...(spec.limits?.cpuShares ? { cpu: { shares: spec.limits.cpuShares } } : {}),
      },
      cgroupsPath: `/${config.cgroupParent}/${config.namespace}/${input.id}`,
      ...(privileged ? {} : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
    },
  };
}

/** The mounts every container has: containerd's defaults, adjusted for a user namespace. */
function systemMounts(privileged: boolean, userns: boolean, config: FilledConfig): OciMount[] {
  const sysOptions = ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'];
  // sysfs may be mounted in a user namespace only with a network namespace of its own; with the
  // host's network a user-namespaced container gets the host's /sys, read-only, as rootless
  // containers do.
  const sys: OciMount =
    userns && config.network === 'host'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', ...sysOptions] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions };
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    sys,
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'],
    },
  ];
}

function fileMounts(input: SpecInput): OciMount[] {
  const init = input.config.init;
  return [
    ...(init ? [{ destination: INIT_PATH, type: 'bind', source: init, options: ['rbind', 'ro'] }] : []),
    { destination: '/etc/hosts', type: 'bind', source: input.hostsFile, options: ['rbind', 'rw'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: input.resolvConfFile, options: ['rbind', 'rw'] },
  ];
}

/** Step volumes as bind mounts; relative destinations are under the working directory. */
function stepMounts(spec: runtime.ContainerSpec, workingDir: string): OciMount[] {
  const mounts = (spec.mounts ?? []).map((mount) => {
    const location = mount.volume.location;
    if (location.type !== 'host-path') {
      throw new PluginError(
        'CONTAINERD_MOUNT_UNSUPPORTED',
        `volume ${mount.volume.handle} of driver ${mount.volume.driver} is a ${location.type} volume; the containerd runtime mounts host-path volumes only (use a volume driver that keeps volumes on this host)`,
      );
    }
    const destination = posix.resolve(workingDir, mount.destination);
    if (destination === '/') {
      throw new PluginError(
        'CONTAINERD_MOUNT_CONFLICT',
        `cannot mount ${mount.volume.handle} at the container's root`,
      );
    }
    return {
      destination,
      type: 'bind',
      source: location.path,
      options: ['rbind', mount.readOnly ? 'ro' : 'rw'],
    };
  });
  const seen = new Set<string>();
  for (const mount of mounts) {
    if (seen.has(mount.destination)) {
      throw new PluginError(
        'CONTAINERD_MOUNT_CONFLICT',
        `two mounts share the destination ${JSON.stringify(mount.destination)}; give each volume its own`,
      );
    }
    seen.add(mount.destination);
  }
  // Parents first, so a nested volume is mounted on top of the one that holds it.
  return mounts.sort((a, b) => a.destination.split('/').length - b.destination.split('/').length);
}

/** Image env, then each override in turn; PATH and HOME are filled in when still missing. */
export function mergeEnv(
  base: readonly string[],
  overrides: ReadonlyArray<Record<string, string> | undefined>,
  home?: string,
): string[] {
  const env = new Map<string, string>();
  for (const entry of base) {
    const at = entry.indexOf('=');
    if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  for (const override of overrides)
    for (const [key, value] of Object.entries(override ?? {})) env.set(key, value);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (home !== undefined && !env.has('HOME')) env.set('HOME', home);
  return [...env].map(([key, value]) => `${key}=${value}`);
}

export function toAny(typeUrl: string, value: unknown): { type_url: string; value: Buffer } {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(value)) };
}
