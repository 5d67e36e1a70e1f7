import { defineErrors } from './define.js';

/** Errors of core/config/pipeline/ and core/plan/ (see the registry for the rules: stable, append-only codes). */
export const pipelineErrors = defineErrors({
  CC_E_PIPELINE_INVALID: {
    status: 400,
    docs: 'The pipeline configuration is not valid YAML, breaks the pipeline schema, or breaks a rule Concourse applies (unknown resource, dangling or cyclic `passed:`, a group naming no job, ...). `details.problems` lists every problem at once, each with file, line, column, field path, message and severity; `details.warnings` lists what was accepted but deserves a look. Fix each error and set the pipeline again.',
  },
  CC_E_PIPELINE_CREDS_MISSING: {
    status: 400,
    docs: 'The pipeline was set with `check_creds` (`cc set-pipeline --check-creds`), and a `((var))` it leaves for its builds cannot be resolved now: no credential manager (nor `var_sources` entry) has it, a field it selects is missing, the var source it names is not declared, or a lookup failed. `details.problems` places each use at file, line, column and field path, with the reason; nothing was stored. Add the credential (or pass it as a static var with `-v`), or set the pipeline without `--check-creds` to let builds resolve it when they run. Local vars (`((.:name))`) are not checked.',
  },
  CC_E_PLAN_INPUT_MISSING: {
    status: 500,
    docs: "A build plan was compiled without a version for one of the job's `get` steps. The scheduler resolves a version for every input before it creates a build; this error means it did not, and is a bug to report with `details.input` and `details.job`.",
  },
  CC_E_PLAN_UNKNOWN_RESOURCE: {
    status: 500,
    docs: 'A build plan names a resource the pipeline model does not have. Validated pipelines cannot do this; the plan was compiled against a different version of the pipeline than the job came from. Set the pipeline again; report it if it persists.',
  },
});
