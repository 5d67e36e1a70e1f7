import { defineErrors } from './define.js';

/** Errors of core/api/. */
export const apiErrors = defineErrors({
  CC_E_API_UNAUTHORIZED: {
    status: 401,
    docs: 'The request carries no bearer token, or one the server does not know. Send `Authorization: Bearer <token>`; `cc login --url URL --token TOKEN` saves a token for the CLI.',
  },
  CC_E_API_BAD_REQUEST: {
    status: 400,
    docs: 'The request does not match the route’s schema (a missing or malformed parameter, query field or body field). `details.field` names the failing field; the OpenAPI document at /api/v1/openapi.json describes every route.',
  },
  CC_E_API_NOT_FOUND: {
    status: 404,
    docs: 'No route answers this method and path. Check the path against /api/v1/openapi.json; every route lives under /api/v1.',
  },
  CC_E_API_PAYLOAD_TOO_LARGE: {
    status: 413,
    docs: 'The request body is larger than the server accepts: a JSON body over fastify’s limit, or a build input upload over the configured upload limit. Send a smaller body; for `cc execute`, leave large files out of the input directory.',
  },
  CC_E_API_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    docs: 'The request body has a Content-Type the route does not accept. JSON routes take `Content-Type: application/json`; build input uploads take `Content-Type: application/x-tar`.',
  },
  CC_E_API_TEAM_NOT_FOUND: {
    status: 404,
    docs: 'The team named in the path does not exist. Check the spelling; pipelines live in team `main` unless you created others.',
  },
  CC_E_API_PIPELINE_NOT_FOUND: {
    status: 404,
    docs: 'The team has no pipeline of that name. `cc pipelines` lists them; `cc set-pipeline -p NAME -c FILE` creates one.',
  },
  CC_E_API_JOB_NOT_FOUND: {
    status: 404,
    docs: 'The pipeline has no job of that name. `cc jobs -p PIPELINE` lists them; a job exists once the pipeline config that declares it is set.',
  },
  CC_E_API_BUILD_NOT_FOUND: {
    status: 404,
    docs: 'No build has that id (or that name, in that job). Build ids are global; build names (`3`, `3.1` for a rerun) count per job. `cc builds` lists recent builds.',
  },
  CC_E_API_RESOURCE_NOT_FOUND: {
    status: 404,
    docs: 'The pipeline has no resource of that name. `cc resources -p PIPELINE` lists them.',
  },
  CC_E_API_RESOURCE_VERSION_NOT_FOUND: {
    status: 404,
    docs: 'The resource has no version with that id. `cc resource-versions -r PIPELINE/RESOURCE` lists the versions and their ids.',
  },
  CC_E_API_PIPELINE_CONFIG_CONFLICT: {
    status: 409,
    docs: 'The pipeline config changed since the version the request expected (`expected_version`): someone else set it in between. Fetch the config again (`cc get-pipeline`), reapply your change and set it again.',
  },
  CC_E_API_MANUAL_TRIGGER_DISABLED: {
    status: 409,
    docs: 'The job has `disable_manual_trigger: true`, so it cannot be triggered or rerun by hand; new input versions trigger it. Change the pipeline config to allow manual triggers.',
  },
  CC_E_API_BUILD_NOT_PENDING: {
    status: 409,
    docs: 'The one-off build has already started (or finished), so it takes no more input uploads and cannot be started again. Create a new build with `cc execute`.',
  },
  CC_E_API_BUILD_INPUT_UNKNOWN: {
    status: 404,
    docs: 'The one-off build declares no input of that name. Upload only the inputs named in the `inputs` of the create request.',
  },
  CC_E_API_BUILD_INPUTS_MISSING: {
    status: 409,
    docs: 'The one-off build cannot start: some declared inputs were not uploaded yet. `details.missing` names them; upload each with `PUT /api/v1/builds/{id}/inputs/{name}`, then start the build.',
  },
  CC_E_API_BUILD_NOT_FINISHED: {
    status: 409,
    docs: 'The build’s outputs can be downloaded only once it has finished. Watch it (`cc watch -b ID`) and download afterwards.',
  },
  CC_E_API_BUILD_OUTPUT_NOT_FOUND: {
    status: 404,
    docs: 'The one-off build declares no output of that name, or its task did not produce it. Download only the outputs named in the `outputs` of the create request.',
  },
  CC_E_API_RESOURCE_PINNED_IN_CONFIG: {
    status: 409,
    docs: 'The resource is pinned by `version:` in the pipeline config, so the API can neither unpin it nor pin another version. Change the pipeline config instead.',
  },
  CC_E_API_CHECK_FAILED: {
    status: 502,
    docs: 'The resource check ran and failed: the resource type reported an error (an unreachable repository, bad credentials, a bad `source`). The message carries the check’s own error; fix the resource’s `source` or the system it points at and check again.',
  },
  CC_E_API_CONTAINER_NOT_FOUND: {
    status: 404,
    docs: 'The build has no container that matches (the step, the handle) to run a process in. A step’s container exists while the step runs and goes once the build has finished; `cc containers` lists those that exist.',
  },
  CC_E_API_INTERCEPT_AMBIGUOUS: {
    status: 409,
    docs: 'Several containers of the build match and the request did not say which: `details.containers` lists them. Name the step (`?step=`, `cc intercept -s STEP`) or the container’s handle (`?container=`).',
  },
  CC_E_API_TTY_UNSUPPORTED: {
    status: 422,
    docs: 'A terminal was asked for, but the configured runtime cannot give a process one: the `local` runtime runs steps as plain host processes. Configure the `containerd` runtime for an interactive shell, or run a command without a terminal (`cc intercept ... -- CMD` with stdin not a terminal, or `--no-tty`).',
  },
  CC_E_API_WEBSOCKET_REQUIRED: {
    status: 426,
    docs: 'The route speaks WebSocket only: send the request as a WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`). `cc intercept` does.',
  },
  CC_E_API_INVALID_OPTIONS: {
    status: 500,
    docs: 'The API was built with an invalid option (an upload limit or heartbeat interval that is not a positive integer). The message names the option; fix the server configuration that sets it.',
  },
});
