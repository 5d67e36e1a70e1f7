/** The mock's `source`, as the manifest's schema describes it (the host validated it). */
export interface MockSource {
  mirror_self?: boolean;
  initial_version?: string;
  no_initial_version?: boolean;
  force_version?: string;
  create_files?: Record<string, unknown>;
  check_delay?: string;
  check_failure?: string;
  metadata?: Array<{ name: string; value: string }>;
  log?: string;
}

export interface MockGetParams {
  mirror_self_via_params?: boolean;
  create_files_via_params?: Record<string, unknown>;
}

export interface MockPutParams {
  version?: string;
  file?: string;
  print_env?: boolean;
}

export interface MockVersion {
  version?: string;
  privileged?: string;
}

export const DEFAULT_INITIAL_VERSION = 'mock';
