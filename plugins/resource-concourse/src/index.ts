import { defineResourceType } from '@conveyor/plugin-api';
import { buildEnv, GET_DIRECTORY, PUT_DIRECTORY, resultOf, runScript, versionsOf } from './protocol.js';

/**
 * The `concourse` resource type: a Concourse resource-type image's check, in and out scripts, run
 * by the host in a container of the configured runtime (`context.host.run`), with the requests and
 * answers of Concourse's resource protocol.
 */
export default defineResourceType({
  async check(request, context) {
    const output = await runScript(context, 'check', {
      source: request.source,
      version: request.version ?? null,
    });
    return { versions: versionsOf(output) };
  },

  async get(request, context) {
    const output = await runScript(
      context,
      'in',
      { source: request.source, version: request.version, params: request.params ?? {} },
      { directory: { volume: request.directory, path: GET_DIRECTORY }, env: buildEnv(request.build) },
    );
    return resultOf(output, 'in');
  },

  async put(request, context) {
    const output = await runScript(
      context,
      'out',
      { source: request.source, params: request.params ?? {} },
      { directory: { volume: request.directory, path: PUT_DIRECTORY }, env: buildEnv(request.build) },
    );
    return resultOf(output, 'out');
  },
});
