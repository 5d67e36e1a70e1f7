import { defineErrors } from './define.js';

/** Errors of core/db/. */
export const dbErrors = defineErrors({
  CC_E_DB_UNREACHABLE: {
    status: 503,
    docs: 'Conveyor cannot connect to its Postgres database. The message names the host and port it tried; check that the server is running, that CONVEYOR_DATABASE_URL (or the `database.url` setting) is right, and that the credentials are accepted.',
  },
  CC_E_DB_DATA_DIR_UNREACHABLE: {
    status: 500,
    docs: 'The embedded Postgres server runs as the system user `postgres`, which must be able to traverse every directory above the data directory. The message names the directory that blocks it and its mode; choose a data directory under /var/lib (e.g. /var/lib/conveyor) or allow traversal with `chmod o+x <directory>`.',
  },
  CC_E_DB_DATA_DIR_IN_USE: {
    status: 500,
    docs: 'Another running Conveyor process already runs the embedded Postgres server of this data directory. Stop that process first, or give this one a different data directory.',
  },
  CC_E_DB_EMBEDDED_INIT_FAILED: {
    status: 500,
    docs: "Creating the embedded Postgres cluster (initdb) failed. The message carries initdb's output; a half-initialised `<data dir>/postgres` left by an interrupted first start can be removed, as it holds no data yet.",
  },
  CC_E_DB_EMBEDDED_START_FAILED: {
    status: 500,
    docs: "The embedded Postgres server did not start. The message carries the last lines of Postgres's log, which say why (a damaged data directory, no free shared memory, a server of another version).",
  },
  CC_E_DB_EMBEDDED_PASSWORD_MISSING: {
    status: 500,
    docs: 'The embedded Postgres cluster exists but the file that holds its password (`<data dir>/postgres.password`) is missing or empty. Restore the file from a backup of the data directory, or remove `<data dir>/postgres` to start with an empty database.',
  },
  CC_E_DB_MIGRATIONS_INVALID: {
    status: 500,
    docs: 'The SQL migrations shipped with Conveyor are not a gap-free numbered sequence (`000001_name.sql`, `000002_name.sql`, …) or cannot be read. This is a packaging fault: reinstall Conveyor.',
  },
  CC_E_DB_MIGRATION_EDITED: {
    status: 500,
    docs: 'A migration this database already ran differs from the file Conveyor ships (their sha256 digests differ). Shipped migrations are append-only; reinstall the Conveyor version that migrated this database, or restore the original file.',
  },
  CC_E_DB_SCHEMA_NEWER: {
    status: 500,
    docs: 'This database was migrated by a newer Conveyor: it has migrations this version does not know. Run the newer Conveyor, or restore a backup taken before the upgrade.',
  },
  CC_E_DB_MIGRATION_FAILED: {
    status: 500,
    docs: 'A database migration failed and was rolled back; the database is left at the previous migration. The message names the migration and the cause says what Postgres objected to.',
  },
  CC_E_DB_PLUGIN_DUPLICATE: {
    status: 500,
    docs: 'The set of discovered plugins handed to the database names one plugin version twice. Two plugin directories declare the same name and version; remove one of them.',
  },
});
