import { defineErrors } from './define.js';

/** Errors of core/creds/ (see the registry for the rules: stable, append-only codes). */
export const credsErrors = defineErrors({
  CC_E_CREDS_INVALID_REFERENCE: {
    status: 400,
    docs: 'A `((var))` reference is malformed: an empty path or field (`((a..b))`, `((vault:))`), unclosed quotes (`((a."b))`), or a quoted var source name. The message quotes the reference; write it as `((name))`, `((name.field))`, `((source:name))` or `((a."dotted.key"))`.',
  },
  CC_E_CREDS_MISSING: {
    status: 422,
    docs: 'No credential manager (or var source, or local var) has a var the pipeline refers to. The message names every missing var and the managers that were asked; create the secret where one of them looks (for the env manager: CONVEYOR_VAR_<TEAM>_<PIPELINE>_<NAME> and friends), or fix the name.',
  },
  CC_E_CREDS_LOOKUP_FAILED: {
    status: 502,
    docs: "A credential manager failed to look a var up (it was unreachable, timed out, or refused). The cause is the plugin's own error; the build is errored rather than run without its secret.",
  },
  CC_E_CREDS_UNKNOWN_SOURCE: {
    status: 422,
    docs: 'A reference names a var source (`((source:name))`) that the pipeline does not declare. Declare it under `var_sources`, or fix the name.',
  },
  CC_E_CREDS_MISSING_FIELD: {
    status: 422,
    docs: 'The var exists but has no such field (`((name.field))`), or the var is not an object and so has no fields at all. The message names the var and the field.',
  },
  CC_E_CREDS_NOT_INTERPOLATABLE: {
    status: 422,
    docs: 'A var whose value is an object or a list is used inside a longer string, where only strings, numbers, booleans and null fit. Use the var as the whole value (`key: ((name))`), or select a field (`((name.field))`).',
  },
});
