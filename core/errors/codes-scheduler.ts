import { defineErrors } from './define.js';

/**
 * Errors of the pipeline state machinery: pipeline persistence (core/db/queries), builds,
 * core/scheduler, core/checker, core/events and core/gc (see the registry for the rules: stable,
 * append-only codes).
 */
export const schedulerErrors = defineErrors({
  CC_E_SCHEDULER_TEAM_NOT_FOUND: {
    status: 404,
    docs: 'The team named in the request does not exist. Check the spelling (`cc teams` lists them), or create the team first.',
  },
  CC_E_SCHEDULER_PIPELINE_NOT_FOUND: {
    status: 404,
    docs: 'No pipeline of that name (or id) exists in the team. `cc pipelines` lists the pipelines; set one with `cc set-pipeline`.',
  },
  CC_E_SCHEDULER_PIPELINE_CONFLICT: {
    status: 409,
    docs: 'The pipeline was changed by someone else since its configuration was read: the version sent with set-pipeline is not the current one. Fetch the pipeline again, re-apply your change, and set it again.',
  },
  CC_E_SCHEDULER_PIPELINE_ARCHIVED: {
    status: 409,
    docs: 'The pipeline is archived: it cannot be unpaused or triggered. Set its configuration again with `cc set-pipeline` to bring it back (it comes back paused).',
  },
  CC_E_SCHEDULER_MODEL_INCONSISTENT: {
    status: 422,
    docs: 'The pipeline model handed to savePipeline names something it does not declare (an input of an unknown resource, a `passed:` job that does not exist). The pipeline validator rejects such configurations, so this points at a model built without it.',
  },
  CC_E_SCHEDULER_JOB_NOT_FOUND: {
    status: 404,
    docs: 'No job of that name (or id) exists in the pipeline, or the job was removed from its configuration. `cc jobs -p <pipeline>` lists the jobs.',
  },
  CC_E_SCHEDULER_RESOURCE_NOT_FOUND: {
    status: 404,
    docs: 'No resource of that name (or id) exists in the pipeline, or it was removed from its configuration. `cc resources -p <pipeline>` lists the resources.',
  },
  CC_E_SCHEDULER_VERSION_NOT_FOUND: {
    status: 404,
    docs: 'The resource has no version matching the one given (in the current history of the resource; a change of its type or source starts a new history). `cc resource-versions` lists the versions; `cc check-resource --from` can create one.',
  },
  CC_E_SCHEDULER_RESOURCE_PINNED_IN_CONFIG: {
    status: 409,
    docs: 'The resource is pinned by `version:` in the pipeline configuration, which wins over a pin made through the API. Change the pin in the configuration instead.',
  },
  CC_E_SCHEDULER_BUILD_NOT_FOUND: {
    status: 404,
    docs: 'No build with that id (or that name in the job) exists. It may have been removed with its pipeline.',
  },
  CC_E_SCHEDULER_BUILD_FINISHED: {
    status: 409,
    docs: 'The build has already finished (succeeded, failed, errored or aborted): a finished build cannot be finished again. Its final status is in the message.',
  },
  CC_E_SCHEDULER_LEASE_LOST: {
    status: 409,
    docs: "The process that tried to change a build does not hold the build's lease any more: its lease ran out (another Conveyor then marked the build errored), or another process runs the build. The process must stop running it.",
  },
  CC_E_SCHEDULER_BUILD_NOT_RERUNNABLE: {
    status: 409,
    docs: 'Only builds of a job can be rerun; one-off builds (`cc execute`) have no job to rerun them in. Run `cc execute` again instead.',
  },
  CC_E_SCHEDULER_INPUTS_UNRESOLVED: {
    status: 409,
    docs: 'The job cannot be triggered because an input has no version that fits: the resource has not been checked yet or has no versions, every version is disabled, the pinned version does not exist, or no version passed the `passed:` jobs (together with the other inputs). The message names the input; check the resource (`cc check-resource`) or run the upstream jobs.',
  },
  CC_E_SCHEDULER_MANUAL_TRIGGER_DISABLED: {
    status: 409,
    docs: 'The job sets `disable_manual_trigger: true`, so it only runs when its triggers fire. Remove the setting to trigger it by hand.',
  },
  CC_E_SCHEDULER_CHECK_BUSY: {
    status: 503,
    docs: "Another Conveyor process kept checking the resource for longer than the check was willing to wait. Try again later; if it persists, look for a check that hangs (lower the resource's `check_timeout`).",
  },
  CC_E_SCHEDULER_CHECK_INVALID_VERSIONS: {
    status: 502,
    docs: "A resource type's check returned something that is not a list of versions (each a flat map of strings). This is a fault in the resource type plugin.",
  },
  CC_E_SCHEDULER_GC_DESTROY_FAILED: {
    status: 500,
    docs: 'gc could not destroy a container or volume through its plugin (or knows no plugin of that name). The row is kept and the next gc pass tries again; the cause says why the plugin refused.',
  },
});
