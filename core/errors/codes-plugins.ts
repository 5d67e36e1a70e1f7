import { defineErrors } from './define.js';

/** Errors of core/plugins/: the plugin host. Each names plugin@version and, for calls, the method. */
export const pluginsErrors = defineErrors({
  CC_E_PLUGIN_MANIFEST_INVALID: {
    status: 500,
    docs: 'A conveyor-plugin.json is unreadable or does not match the manifest schema. The message names the file and every field at fault; fix the manifest or reinstall the plugin.',
  },
  CC_E_PLUGIN_API_INCOMPATIBLE: {
    status: 409,
    docs: "The plugin implements a plugin API range that does not include this host's API version. The message names both; install a version of the plugin built for this host.",
  },
  CC_E_PLUGIN_DUPLICATE: {
    status: 409,
    docs: 'Two plugin packages declare the same name and version. The message names both directories; remove one.',
  },
  CC_E_PLUGIN_NOT_FOUND: {
    status: 404,
    docs: 'No plugin of that name (and kind) is installed. `cc plugin list` shows what is; install it with `cc plugin install NAME`.',
  },
  CC_E_PLUGIN_NO_MATCHING_VERSION: {
    status: 404,
    docs: 'The plugin is installed, but no installed version satisfies the requested range. The message lists the versions there are.',
  },
  CC_E_PLUGIN_CONFIG_INVALID: {
    status: 400,
    docs: "The plugin's configuration in conveyor.yaml does not match the plugin's configSchema. The message names each field and what was expected.",
  },
  CC_E_PLUGIN_BAD_REQUEST: {
    status: 500,
    docs: 'The core sent a plugin a request that does not match the method schema, or a method the kind does not have. This is a bug in Conveyor; please report it.',
  },
  CC_E_PLUGIN_BAD_REPLY: {
    status: 502,
    docs: "The plugin answered with a reply that does not match the method's schema; the host never trusts a reply it has not validated. The message names each field at fault; report it to the plugin's author.",
  },
  CC_E_PLUGIN_HOST_SERVICE_UNAVAILABLE: {
    status: 500,
    docs: "A plugin asked the host for a service (`context.host`) that the host does not offer that call: e.g. `host.run` from a resource type that is not defined by a Concourse image. The plugin receives this code; it is the plugin's to handle.",
  },
  CC_E_PLUGIN_HOST_SERVICE_BAD_REQUEST: {
    status: 500,
    docs: "A plugin asked the host for a service with a request that does not match plugin-api/schemas/host.json, or that reaches for something the call was not given (a volume its request did not name). The message names each field at fault; report it to the plugin's author.",
  },
  CC_E_PLUGIN_CALL_FAILED: {
    status: 502,
    docs: "The plugin's method threw an error. `details.pluginCode` carries the plugin's own code when it threw a PluginError.",
  },
  CC_E_PLUGIN_LOAD_FAILED: {
    status: 502,
    docs: "The plugin's main module could not be loaded, or its setup failed. The message carries the cause.",
  },
  CC_E_PLUGIN_EXITED: {
    status: 502,
    docs: 'The plugin called process.exit during the call. The call failed; the worker was replaced and other calls go on.',
  },
  CC_E_PLUGIN_CRASHED: {
    status: 502,
    docs: "The plugin's worker thread died during the call (an uncaught error outside the call, or it was terminated). The worker was replaced and other calls go on.",
  },
  CC_E_PLUGIN_OUT_OF_MEMORY: {
    status: 502,
    docs: "The plugin's worker ran out of its memory limit (plugins.max_memory_mb, or the manifest's limits). The worker was replaced and other calls go on.",
  },
  CC_E_PLUGIN_TIMEOUT: {
    status: 504,
    docs: "The call took longer than its timeout (plugins.call_timeout, or the manifest's limits.callTimeoutMs). Its worker was terminated and replaced.",
  },
  CC_E_PLUGIN_ABORTED: {
    status: 499,
    docs: 'The caller cancelled the call (a build was aborted, the server is shutting down). If the call was running, its worker was terminated and replaced.',
  },
  CC_E_PLUGIN_HOST_CLOSED: {
    status: 503,
    docs: 'The plugin host is shutting down and takes no more calls.',
  },
});
