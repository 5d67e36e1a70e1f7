import { PluginError } from '@conveyor/plugin-api';
import { GitCommandError } from './git-command.js';

/**
 * git says why a remote operation failed only in words; its exit status is 128 for nearly
 * everything. The words below are git's, ssh's and curl's own (LC_ALL=C), checked in order;
 * each maps to a stable code and a hint of what to do.
 */
const REMOTE_FAILURES: ReadonlyArray<{ pattern: RegExp; code: string; hint: string }> = [
  {
    // git daemon, local paths, and hosting services that answer 404 for a missing repository.
    pattern:
      /no such repository|repository not exported|does not appear to be a git repository|repository '.*' not found|Repository not found|not a git repository|The requested URL returned error: 404/i,
    code: 'GIT_REPO_NOT_FOUND',
    hint: 'check source.uri, and that the credentials given can see the repository',
  },
  {
    pattern:
      /Authentication failed|Permission denied|could not read (Username|Password)|terminal prompts disabled|Invalid username or password|HTTP Basic: Access denied|The requested URL returned error: 40[13]|Host key verification failed|incorrect passphrase|error in libcrypto|invalid format/i,
    code: 'GIT_AUTH_FAILED',
    hint: 'check source.private_key (and private_key_passphrase) for ssh, or source.username and source.password for HTTP(S)',
  },
  {
    pattern: /SSL certificate problem|server certificate verification failed|certificate verify failed/i,
    code: 'GIT_TLS_FAILED',
    hint: "install the server's CA on the Conveyor host, or set source.skip_ssl_verification: true",
  },
  {
    pattern:
      /Could not resolve host|Connection refused|Connection timed out|Network is unreachable|No route to host|unable to connect|Could not read from remote repository|Connection reset|Failed to connect/i,
    code: 'GIT_UNREACHABLE',
    hint: 'check the host and port in source.uri, and that this Conveyor host can reach it',
  },
  {
    pattern: /couldn't find remote ref|Remote branch .* not found/i,
    code: 'GIT_BRANCH_NOT_FOUND',
    hint: 'check source.branch: the repository has no such branch',
  },
];

/**
 * The error to report for a git command that failed while talking to the repository at `uri`
 * (already sanitized): a PluginError with a stable code and a message that says what to do.
 */
export function remoteFailure(error: unknown, doing: string, uri: string): PluginError {
  if (error instanceof PluginError) return error;
  if (error instanceof GitCommandError) {
    for (const failure of REMOTE_FAILURES) {
      if (failure.pattern.test(error.stderr)) {
        return new PluginError(
          failure.code,
          `${doing} ${uri} failed: ${summary(error.stderr)}; ${failure.hint}`,
          { cause: error },
        );
      }
    }
    return new PluginError('GIT_COMMAND_FAILED', `${doing} ${uri} failed: ${error.message}`, {
      cause: error,
    });
  }
  return new PluginError('GIT_COMMAND_FAILED', `${doing} ${uri} failed: ${String(error)}`, { cause: error });
}

/** The error for a git command on local data that failed (not a remote one). */
export function localFailure(error: unknown, doing: string): PluginError {
  if (error instanceof PluginError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PluginError('GIT_COMMAND_FAILED', `${doing} failed: ${message}`, { cause: error });
}

/** The lines of git's output that say what went wrong, without progress chatter. */
function summary(stderr: string): string {
  const lines = stderr
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line && /^(fatal|error|remote|ERROR|ssh|Permission|Host key|!)/.test(line));
  return (
    (lines.length ? lines : stderr.trim().split(/[\r\n]+/)).slice(-3).join(' | ') || 'no output from git'
  );
}
