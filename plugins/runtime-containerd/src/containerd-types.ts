/**
 * The containerd messages the plugin reads and writes, as @grpc/proto-loader hands them over
 * (snake_case fields, int64 as number, enums as strings, defaults filled in). Only the fields the
 * plugin uses are named; the .proto files under proto/ are the full definition.
 */

export type Labels = Record<string, string>;

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface Descriptor {
  media_type: string;
  digest: string;
  size: number;
  annotations?: Labels;
}

export interface Any {
  type_url: string;
  value: Buffer;
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface Container {
  id: string;
  labels: Labels;
  image?: string;
  runtime: { name: string; options?: Any | null };
  spec: Any | null;
  snapshotter: string;
  snapshot_key: string;
  created_at?: Timestamp | null;
  updated_at?: Timestamp | null;
  extensions?: Record<string, Any>;
}

export interface Image {
  name: string;
  labels: Labels;
  target: Descriptor;
  created_at?: Timestamp | null;
  updated_at?: Timestamp | null;
}

export interface SnapshotInfo {
  name: string;
  parent: string;
  kind: 'UNKNOWN' | 'VIEW' | 'ACTIVE' | 'COMMITTED';
  labels: Labels;
}

export interface Lease {
  id: string;
  labels: Labels;
}

export interface LeaseResource {
  id: string;
  type: string;
}

export type ProcessStatus = 'UNKNOWN' | 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING';

export interface Process {
  container_id: string;
  id: string;
  pid: number;
  status: ProcessStatus;
  terminal: boolean;
  exit_status: number;
}

export interface ContentInfo {
  digest: string;
  size: number;
  labels: Labels;
}

export type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';

export interface WriteContentRequest {
  action: WriteAction;
  ref: string;
  total?: number;
  expected?: string;
  offset?: number;
  data?: Buffer;
  labels?: Labels;
}

export interface WriteContentResponse {
  action: WriteAction;
  offset: number;
  total: number;
  digest: string;
}
