/**
 * core/creds: Concourse's `((var))` language. References are parsed with clear errors, resolved
 * through the credential manager plugins (first found wins; `source:` picks a var source; `.:`
 * the build's local vars), cached for the build, and every secret resolved is remembered so
 * build output can be redacted before it is stored.
 */
export {
  type CredentialManager,
  createInterpolator,
  type InterpolateOptions,
  type Interpolator,
  type InterpolatorOptions,
} from './interpolator.js';
export { MIN_SECRET_LENGTH, REDACTED, SecretRedactor } from './redactor.js';
export {
  type FoundReference,
  findReferences,
  formatReference,
  LOCAL_SOURCE,
  parseReference,
  type VarReference,
} from './reference.js';
