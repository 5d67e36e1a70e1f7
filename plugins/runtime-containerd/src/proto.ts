import { fileURLToPath } from 'node:url';
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The .proto files ship with the package (`files` in package.json includes proto/). */
export const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

const API = 'github.com/containerd/containerd/api';

/** Every containerd service the plugin calls, by our short name: [proto file, fully-qualified service]. */
export const SERVICES = {
  containers: [
    `${API}/services/containers/v1/containers.proto`,
    'containerd.services.containers.v1.Containers',
  ],
  content: [`${API}/services/content/v1/content.proto`, 'containerd.services.content.v1.Content'],
  diff: [`${API}/services/diff/v1/diff.proto`, 'containerd.services.diff.v1.Diff'],
  images: [`${API}/services/images/v1/images.proto`, 'containerd.services.images.v1.Images'],
  leases: [`${API}/services/leases/v1/leases.proto`, 'containerd.services.leases.v1.Leases'],
  namespaces: [
    `${API}/services/namespaces/v1/namespace.proto`,
    'containerd.services.namespaces.v1.Namespaces',
  ],
  snapshots: [`${API}/services/snapshots/v1/snapshots.proto`, 'containerd.services.snapshots.v1.Snapshots'],
  tasks: [`${API}/services/tasks/v1/tasks.proto`, 'containerd.services.tasks.v1.Tasks'],
  version: [`${API}/services/version/v1/version.proto`, 'containerd.services.version.v1.Version'],
} as const;

export type ServiceName = keyof typeof SERVICES;

/** Every .proto file the plugin loads; the types they import are found through PROTO_DIR. */
export const PROTO_FILES: readonly string[] = Object.values(SERVICES).map(([file]) => file);

let loaded: GrpcObject | undefined;

/**
 * Load the protos once per thread. Fields keep containerd's snake_case names (`container_id`), as
 * in its documentation; int64 values arrive as numbers (content sizes stay far below 2^53).
 */
export function serviceConstructor(name: ServiceName): ServiceClientConstructor {
  loaded ??= loadPackageDefinition(
    loadSync([...PROTO_FILES], {
      includeDirs: [PROTO_DIR],
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  );
  let node: unknown = loaded;
  for (const part of SERVICES[name][1].split('.')) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}
