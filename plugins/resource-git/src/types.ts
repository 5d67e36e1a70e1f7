/** The git resource's `source`, as the manifest's schema describes it (the host validated it). */
export interface GitSource {
  uri: string;
  branch?: string;
  paths?: string[];
  ignore_paths?: string[];
  tag_filter?: string;
  tag_regex?: string;
  fetch_tags?: boolean;
  private_key?: string;
  private_key_user?: string;
  private_key_passphrase?: string;
  username?: string;
  password?: string;
  git_config?: Array<{ name: string; value: string }>;
  skip_ssl_verification?: boolean;
  disable_ci_skip?: boolean;
  commit_filter?: {
    include?: string[];
    include_all_match?: boolean;
    exclude?: string[];
    exclude_all_match?: boolean;
  };
  version_depth?: number;
}

export interface GitGetParams {
  depth?: number;
  fetch_tags?: boolean;
  submodules?: 'all' | 'none' | string[];
  submodule_recursive?: boolean;
  submodule_remote?: boolean;
  short_ref_format?: string;
  clean_tags?: boolean;
}

export interface GitPutParams {
  repository: string;
  rebase?: boolean;
  merge?: boolean;
  returning?: 'merged' | 'unmerged';
  tag?: string;
  tag_prefix?: string;
  only_tag?: boolean;
  annotate?: string;
  force?: boolean;
  branch?: string;
}

export type GitVersion = {
  ref: string;
  commit?: string;
  branch?: string;
};

/** The plugin's configuration (conveyor.yaml), as its configSchema describes it. */
export interface GitConfig {
  cacheDir?: string;
  commandTimeoutMs?: number;
}

/**
 * The request's source and params as this resource's types. The host validated them against the
 * manifest's schemas before the call, so the shapes hold.
 */
export const asSource = (source: Record<string, unknown>): GitSource => source as unknown as GitSource;
export const asParams = <T>(params: Record<string, unknown> | undefined): T => (params ?? {}) as unknown as T;
