/**
 * The CLI's error registry. Every error `cc` reports carries a stable code from here and the exit
 * code the process ends with, so scripts can branch on either. Codes are append-only: a shipped
 * code is never renamed or reused. Exit codes stay few (1 failed, 2 usage) because `cc watch`
 * gives 1–3 their fly meanings (failed, errored, aborted).
 */
export interface CliErrorDefinition {
  /** Process exit code. */
  readonly exit: number;
  /** What the error means and what to do about it. */
  readonly docs: string;
}

/** Exit codes, as named constants so commands never write a bare number. */
export const exitCodes = {
  /** The command ran and failed. */
  failed: 1,
  /** The command line was wrong: a flag, an argument, a missing target name. */
  usage: 2,
} as const;

function defineCliErrors<const T extends Record<`CC_E_CLI_${string}`, CliErrorDefinition>>(group: T): T {
  return group;
}

export const cliErrors = defineCliErrors({
  CC_E_CLI_INTERNAL: {
    exit: exitCodes.failed,
    docs: 'An unexpected failure inside `cc`. The message and its causes say what failed; please report it with the output of the command run with DEBUG=*.',
  },
  CC_E_CLI_USAGE: {
    exit: exitCodes.usage,
    docs: 'The command line is wrong (an unknown flag, a missing value). `cc <command> --help` shows what the command takes.',
  },
  CC_E_CLI_NO_TARGET: {
    exit: exitCodes.failed,
    docs: 'No server to talk to: no `--target`/`--url` was given and no target is saved. Run `cc login --url URL --token TOKEN` for a remote server or `cc up` to start a local one.',
  },
  CC_E_CLI_UNKNOWN_TARGET: {
    exit: exitCodes.usage,
    docs: 'The target named by `--target` (or CONVEYOR_TARGET) is not in the targets file. `cc targets` lists the saved ones.',
  },
  CC_E_CLI_TARGETS_INVALID: {
    exit: exitCodes.failed,
    docs: 'The targets file ($CONVEYOR_HOME/targets.yaml, default ~/.conveyor/targets.yaml) cannot be read or is not valid. Fix or delete it and log in again.',
  },
  CC_E_CLI_UNAUTHORIZED: {
    exit: exitCodes.failed,
    docs: 'The server rejected the token: it is missing, unknown, expired or revoked. Log in again with `cc login --url URL --token TOKEN -t NAME`.',
  },
  CC_E_CLI_UNREACHABLE: {
    exit: exitCodes.failed,
    docs: 'The server at the target’s URL did not answer (refused, unresolvable host, timeout). Check that it runs and that the URL is right (`cc targets`).',
  },
  CC_E_CLI_BAD_RESPONSE: {
    exit: exitCodes.failed,
    docs: 'Something answered at the URL, but not like a Conveyor server (not JSON, or not the API’s error shape). Check the URL: it is the server’s root, e.g. http://127.0.0.1:8080.',
  },
  CC_E_CLI_API_ERROR: {
    exit: exitCodes.failed,
    docs: 'The server answered with an error; the message carries the server’s own `CC_E_*` code and message, which say what to fix.',
  },
  CC_E_CLI_FILE_UNREADABLE: {
    exit: exitCodes.failed,
    docs: 'A file named on the command line (a pipeline or task config, a vars file, an input directory) cannot be read, or an output cannot be written. The message names the file and the system error; check the path and its permissions.',
  },
  CC_E_CLI_PIPELINE_INVALID: {
    exit: exitCodes.failed,
    docs: 'The pipeline config is invalid (or, with --strict, has warnings). Each problem is printed on its own line as `file:line:column: path: message`; fix them and run the command again.',
  },
  CC_E_CLI_CREDS_MISSING: {
    exit: exitCodes.failed,
    docs: "With --check-creds, the server looked up the pipeline's `((vars))` (in its credential managers, then the pipeline's var_sources) and could not resolve some of them, so nothing was set. Each use is printed as `file:line:column: path: reason`. Add the credential to the manager, pass it as a static var (`-v NAME=VALUE`), or set the pipeline without --check-creds to let builds resolve it when they run.",
  },
  CC_E_CLI_CONFLICT: {
    exit: exitCodes.failed,
    docs: 'Someone changed the pipeline config between the moment `cc set-pipeline` showed its diff and the moment it applied it, so nothing was applied. Run `cc set-pipeline` again to see the diff against the new config.',
  },
  CC_E_CLI_NOT_INTERACTIVE: {
    exit: exitCodes.usage,
    docs: 'The command asks for confirmation, but stdin or stdout is not a terminal, so nobody can answer. Pass `--non-interactive` (`-n`) to go ahead without asking, e.g. in scripts and CI.',
  },
  CC_E_CLI_NOT_FOUND: {
    exit: exitCodes.failed,
    docs: 'What the command looked for on the server does not exist: a pipeline, a job without builds, a resource version that matches none. The message says what is missing and which command lists what exists.',
  },
  CC_E_CLI_EVENT_STREAM: {
    exit: exitCodes.failed,
    docs: "A build's event stream broke and could not be resumed (the server kept refusing or closing the connection), or it sent something that is not a build event. The build itself runs on: `cc watch -b ID` attaches to it again.",
  },
  CC_E_CLI_ARTIFACT_FAILED: {
    exit: exitCodes.failed,
    docs: '`cc execute` could not upload an input directory or unpack a downloaded output. The message names the input or output and the directory; check that the directory exists and is readable (inputs) or writable (outputs).',
  },
  CC_E_CLI_AMBIGUOUS: {
    exit: exitCodes.usage,
    docs: '`cc intercept` found several containers and stdin is not a terminal, so it cannot ask which: the message lists them. Name one with `-s STEP` (a step name or plan id) or `--handle HANDLE`.',
  },
  CC_E_CLI_INTERCEPT_BROKEN: {
    exit: exitCodes.failed,
    docs: '`cc intercept` lost its connection to the server before the process exited (the server stopped, or the network failed), or the server sent something that is not an intercept frame. The process was stopped with the connection; the step goes on. Intercept again.',
  },
  CC_E_CLI_SERVER_FAILED: {
    exit: exitCodes.failed,
    docs: '`cc up` could not start or stop the server in-process (the data directory, the port, Postgres, a plugin). The causes printed below say which.',
  },
  CC_E_CLI_PLUGIN_PACKAGE_INVALID: {
    exit: exitCodes.failed,
    docs: 'The plugin package (a directory to pack, or a package downloaded from a registry) has no valid conveyor-plugin.json, or the manifest does not match the artifact it came in. The message names the file and every field at fault.',
  },
  CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE: {
    exit: exitCodes.failed,
    docs: 'The plugin registry did not answer (refused, unresolvable host, timeout). Check the URL given with --registry (or CONVEYOR_PLUGIN_REGISTRY) and that the registry runs.',
  },
  CC_E_CLI_PLUGIN_REGISTRY_ERROR: {
    exit: exitCodes.failed,
    docs: 'The plugin registry answered with an error (refused credentials, no such repository or tag, a push it would not take). The message carries the HTTP status and the registry’s own error codes; pass a token with --token (or CONVEYOR_REGISTRY_TOKEN) where it asks for one.',
  },
  CC_E_CLI_PLUGIN_NO_MATCHING_VERSION: {
    exit: exitCodes.failed,
    docs: 'No version of the plugin in the registry satisfies the requested range, or none that does is built for this host’s plugin API. The message names what there is and, when there is one, the best version that would install.',
  },
  CC_E_CLI_PLUGIN_DIGEST_MISMATCH: {
    exit: exitCodes.failed,
    docs: 'A manifest or blob downloaded from the registry does not have the digest that names it: the registry’s storage is corrupt or the content was tampered with. Nothing was installed. Report it to whoever runs the registry.',
  },
  CC_E_CLI_PLUGIN_UNSIGNED: {
    exit: exitCodes.failed,
    docs: 'The plugin artifact carries no signature. Install only signed plugins, or pass --allow-unsigned if you trust the registry and the repository.',
  },
  CC_E_CLI_PLUGIN_UNTRUSTED: {
    exit: exitCodes.failed,
    docs: 'The plugin is signed, but by no key in the trusted publishers (`<data dir>/trusted-publishers.json` or --trust KEY.pub). Add the publisher’s public key if you trust them, or pass --allow-unsigned.',
  },
  CC_E_CLI_PLUGIN_SIGNATURE_INVALID: {
    exit: exitCodes.failed,
    docs: 'A signature that names a trusted key does not verify against the plugin’s manifest digest: the artifact or the signature was altered. Nothing was installed; --allow-unsigned does not override this.',
  },
  CC_E_CLI_PLUGIN_UNSAFE_ARCHIVE: {
    exit: exitCodes.failed,
    docs: 'The plugin package archive holds an entry that could write outside the package directory (an absolute path, `..`, a link pointing outside) or a device file. Nothing was installed. Report it to the plugin’s publisher.',
  },
  CC_E_CLI_PLUGIN_NOT_INSTALLED: {
    exit: exitCodes.failed,
    docs: 'The plugin (or that version of it) is not in the plugin store. `cc plugin list` on a running server shows what is loaded; the lock file lists what `cc plugin install` put in the store.',
  },
  CC_E_CLI_PLUGIN_KEY_INVALID: {
    exit: exitCodes.failed,
    docs: 'A signing or trusted key could not be read or is not an Ed25519 key in PEM form. `cc plugin keygen` writes a key pair; the private key signs (--sign-key), the public key is trusted (--trust or trusted-publishers.json).',
  },
  CC_E_CLI_PLUGIN_ALREADY_INSTALLED: {
    exit: exitCodes.failed,
    docs: 'The plugin store already holds that plugin version, with other content than the artifact being installed (or content the lock file does not vouch for). Pass --force to replace it, or remove it first with `cc plugin remove NAME@VERSION`.',
  },
  CC_E_CLI_PLUGIN_STORE_BUSY: {
    exit: exitCodes.failed,
    docs: 'Another `cc plugin install` or `cc plugin remove` has been changing the same plugin store for over a minute. Wait for it; if no such process runs, delete the `.cc-plugin.lock` file the message names.',
  },
  CC_E_CLI_PLUGIN_NOT_LINKED: {
    exit: exitCodes.failed,
    docs: '`cc plugin unlink NAME` found no link for NAME in the plugin store. `cc plugin link PATH` makes one; installed versions are untouched.',
  },
  CC_E_CLI_PLUGIN_LOCK_INVALID: {
    exit: exitCodes.failed,
    docs: 'The plugin lock file (conveyor-plugins.lock) cannot be read or is not in the expected form. Fix it, or delete it and install the plugins again by name.',
  },
  CC_E_CLI_PLUGIN_UNKNOWN_NAME: {
    exit: exitCodes.failed,
    docs: 'No plugin of that name in the namespace: its plugin index (`<namespace>/index:latest`) does not list the name and `<namespace>/<name>` holds no versions (or, for `cc plugin index remove`, the index does not list it). The message names the close names the index has; `cc plugin search` lists them all, `cc plugin index add NAME REPOSITORY` adds one, and --repository names a repository directly.',
  },
  CC_E_CLI_PLUGIN_INDEX_CONFLICT: {
    exit: exitCodes.failed,
    docs: 'Other writers kept changing the plugin index while `cc` tried to update it, so it gave up rather than overwrite their entries; nothing of theirs was lost. Run the command again.',
  },
  CC_E_CLI_PLUGIN_INDEX_INVALID: {
    exit: exitCodes.failed,
    docs: 'The tag `<namespace>/index:latest` holds something that is not a Conveyor plugin index (another artifact type, or a layer that is not the index JSON). The message says what is wrong; push a valid index over it (`cc plugin index add` needs a readable one, so delete the tag first), or use --repository meanwhile.',
  },
});

export type CliErrorCode = keyof typeof cliErrors;
