import type { Checker } from '../../checker/index.js';
import type { PipelineModel } from '../../config/index.js';
import type { CredentialManager } from '../../creds/index.js';
import type { Pool } from '../../db/index.js';
import type { PluginClient, PluginHost } from '../../plugins/index.js';

/** What the API's services are made of; the composition root (start-server) passes them in. */
export interface ApiServicesDeps {
  pool: Pool;
  /**
   * The database URL, for build event streams: they LISTEN on a connection of their own (shared by
   * every stream of the process), so a crowd of `cc watch` never starves the main pool.
   */
  databaseUrl: string;
  /** For pipeline validation: which resource types are installed, and their schemas. */
  plugins: Pick<PluginHost, 'list' | 'resolve'>;
  checker: Pick<Checker, 'checkNow'>;
  /**
   * The credential managers a pipeline's builds resolve `((vars))` through (the configured ones,
   * then its var_sources), for `check_creds`. Without it, no var resolves.
   */
  credentialManagers?: ((pipeline: PipelineModel) => CredentialManager[]) | undefined;
  /** The configured volume driver: one-off build inputs are uploaded into it, outputs read from it. */
  volumes: PluginClient<'volume'>;
  /** The configured runtime: `cc intercept` runs processes in its containers. */
  runtime: PluginClient<'runtime'>;
  /** This installation's id, labelled on what the services make and used to find what it made. */
  installation?: string | undefined;
  /** The server's external URL; not used by the services yet. */
  externalUrl?: string | undefined;
}
