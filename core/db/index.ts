/** @conveyor/core/db: Conveyor's persistence layer — Postgres (embedded or external), migrations, queries. */
export {
  createTokenVerifier,
  ensureAdminToken,
  type TokenIdentity,
  type TokenVerifierOptions,
  verifyToken,
} from './auth-tokens.js';
export { type Database, type DatabaseOptions, openDatabase } from './database.js';
export {
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from './embedded-postgres.js';
export { type GroupCommitOptions, groupCommit } from './group-commit.js';
export {
  type DiscoveredPlugin,
  type InstalledPluginRow,
  listInstalledPlugins,
  type PluginSource,
  type SyncPluginsResult,
  syncInstalledPlugins,
} from './installed-plugins.js';
export { type MigrateOptions, type MigrateResult, migrate } from './migrate.js';
export { createPool, type Pool, type PoolClient, type PoolOptions, type Queryable } from './pool.js';
export * from './queries/index.js';
