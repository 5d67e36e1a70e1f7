import { defineErrors } from './define.js';

/** Errors of core/executor/ (see the registry for the rules: stable, append-only codes). */
export const executorErrors = defineErrors({
  CC_E_EXEC_PLAN_INVALID: {
    status: 500,
    docs: 'The build plan is not one the executor can run (unknown schema version or step type). Plans are compiled by Conveyor itself, so this is a bug or a plan stored by a newer version; the message names the step.',
  },
  CC_E_EXEC_INPUT_MISSING: {
    status: 422,
    docs: "A task's input (after input_mapping) or a put's listed input names no artifact of the build. Add a get step or a task output of that name before the step, mark the task input `optional: true`, or fix the mapping.",
  },
  CC_E_EXEC_ARTIFACT_NOT_FOUND: {
    status: 422,
    docs: 'A file path of a step (task `file`, load_var, set_pipeline `file` or `var_files`, a task `image`) names an artifact the build does not have. Paths are `ARTIFACT/path/in/it`; the first segment must be the name of an earlier get or task output.',
  },
  CC_E_EXEC_FILE_UNREADABLE: {
    status: 422,
    docs: 'A file a step reads from an artifact (task config, load_var, set_pipeline) does not exist, is not a regular file, leads out of its volume, or is too large. The message names the artifact and the path.',
  },
  CC_E_EXEC_TASK_CONFIG_INVALID: {
    status: 422,
    docs: 'The task config (inline or from its file, after vars and params) is not valid: the message lists every problem, e.g. a missing `platform` or `run.path`, or an input without a name. Fix the task config.',
  },
  CC_E_EXEC_IMAGE_MISSING: {
    status: 422,
    docs: 'The runtime isolates tasks in containers, so a task needs an image: give the task config an `image_resource`, or the step an `image:` artifact. (The local runtime runs tasks on the host and needs none.)',
  },
  CC_E_EXEC_PLATFORM_MISMATCH: {
    status: 422,
    docs: "The task's `platform` is not the one the runtime runs (e.g. a `windows` task on a linux runtime). Fix the task's platform or configure a runtime for it.",
  },
  CC_E_EXEC_NO_VERSION: {
    status: 422,
    docs: 'A get step has no version to fetch: the plan names none and a check of the resource found none. Make sure the resource has a version (check it, or put one) before the build runs.',
  },
  CC_E_EXEC_PUT_RESULT_MISSING: {
    status: 500,
    docs: 'A get step fetches the version of a put (its implicit get) that did not produce one. The put must run, and succeed, before its get; the plan compiler orders them so, so this points to a bug.',
  },
  CC_E_EXEC_RESOURCE_IMAGE_UNSUPPORTED: {
    status: 400,
    docs: 'A resource type of the pipeline is a Concourse resource-type image (its `type` is registry-image or docker-image), and the configured runtime runs no images (the `local` runtime runs processes on the host, and untrusted resource images never run there). Configure a runtime with containers, e.g. `runtime: containerd`.',
  },
  CC_E_EXEC_RESOURCE_OUTPUT_TOO_LARGE: {
    status: 502,
    docs: "A Concourse resource script wrote more to stdout than one JSON answer can be (16 MiB). Resources write their answer to stdout and progress to stderr; report it to the resource type's author.",
  },
  CC_E_EXEC_RESOURCE_CONFIG_INVALID: {
    status: 422,
    docs: "A get or put step's `source` or `params`, after interpolation, do not match the resource type's schemas. The message names the step, the resource type and each field at fault.",
  },
  CC_E_EXEC_VAR_FILE_INVALID: {
    status: 422,
    docs: 'A load_var file does not parse in its format (json or yaml, chosen by `format:` or by the file extension), or a set_pipeline var file is not a YAML map. The message names the file and the parse error.',
  },
  CC_E_EXEC_ACROSS_VALUES_INVALID: {
    status: 422,
    docs: "An across var's `values` is not a list (after interpolation of a `((var))`). Give a list, or a var whose value is a list.",
  },
  CC_E_EXEC_SET_PIPELINE_UNAVAILABLE: {
    status: 422,
    docs: 'A set_pipeline step cannot run here: the server gave the executor no way to save pipelines, `set_pipeline: self` ran in a build that belongs to no pipeline, or the step uses `instance_vars`, which Conveyor does not support yet.',
  },
  CC_E_EXEC_INTERPOLATION_FAILED: {
    status: 422,
    docs: 'A `((var))` of a step could not be resolved (the credential manager has no such var, or failed). The cause names the var; add it to the credential manager, or load it earlier with load_var.',
  },
  CC_E_EXEC_EVENT_FAILED: {
    status: 500,
    docs: 'The executor could not record a build event or a container/volume record (the database is unreachable?). The step errors rather than run unobserved; resources already recorded are reaped by GC.',
  },
});
