/**
 * The plugin API version this package defines. A plugin's manifest declares the semver range of
 * API versions it implements (`apiVersion: "^1.0"`); the host refuses a plugin whose range does not
 * include this. Bump the minor for additive changes to the schemas, the major for breaking ones.
 */
export const PLUGIN_API_VERSION = '1.3.0';
