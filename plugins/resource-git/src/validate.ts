import { PluginError } from '@conveyor/plugin-api';
import type { GitSource } from './types.js';

/**
 * git configuration that makes git run a program, read other files, or change what the resource
 * trusts. The resource runs git on the Conveyor host, not in a container as Concourse does, so a
 * pipeline may not set these through source.git_config.
 */
const REFUSED_CONFIG =
  /^(core\.(sshcommand|fsmonitor|hookspath|editor|pager|askpass|gitproxy|worktree|alternaterefscommand)|credential(\..*)?|protocol\..*|include\.path|includeif\..*|alias\..*|pager\..*|diff\.external|diff\..*\.(textconv|command)|difftool\..*|mergetool\..*|merge\..*\.driver|filter\..*|sequence\.editor|gpg\..*|uploadpack\..*|uploadarchive\..*|remote\..*\.(uploadpack|receivepack|vcs|proxy)|submodule\..*\.update|ssh\..*|safe\..*|sendemail\..*|web\..*|browser\..*|man\..*|instaweb\..*|receive\..*|transfer\.credentialsinurl)$/i;

/** A branch name git accepts in a refspec, without the characters that would change its meaning. */
const BRANCH = /^(?!-)(?!.*\.\.)(?!.*@\{)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)(?!.*\.$)[^\s~^:?*[\\]+$/;

function isBranchName(name: string): boolean {
  return BRANCH.test(name) && ![...name].some((char) => char.charCodeAt(0) < 0x20 || char === '\u007f');
}

/** Check what the schema cannot say about a source, before git sees any of it. */
export function validateSource(source: GitSource): void {
  if (source.uri.startsWith('-')) {
    throw bad(`uri ${JSON.stringify(source.uri)} starts with "-": give the repository's address`);
  }
  // <transport>::<address> runs a remote helper program on this host; ext:: runs any command.
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(source.uri)) {
    throw bad(
      `uri ${JSON.stringify(source.uri)} uses a git remote helper (<transport>::), which this resource does not run; use an https://, ssh://, git:// or file:// address`,
    );
  }
  if (source.branch !== undefined && !isBranchName(source.branch)) {
    throw bad(`branch ${JSON.stringify(source.branch)} is not a valid branch name`);
  }
  if (source.tag_filter !== undefined && source.tag_regex !== undefined) {
    throw bad('give tag_filter or tag_regex, not both');
  }
  if (source.tag_regex !== undefined) {
    try {
      new RegExp(source.tag_regex);
    } catch {
      throw bad(`tag_regex ${JSON.stringify(source.tag_regex)} is not a regular expression`);
    }
  }
  for (const { name } of source.git_config ?? []) {
    if (REFUSED_CONFIG.test(name)) {
      throw new PluginError(
        'GIT_CONFIG_REFUSED',
        `git_config ${name} is refused: it would make git run programs or trust files on the Conveyor host; remove it from the source`,
      );
    }
  }
}

export function validateBranch(branch: string, where: string): void {
  if (!isBranchName(branch)) throw bad(`${where} ${JSON.stringify(branch)} is not a valid branch name`);
}

function bad(message: string): PluginError {
  return new PluginError('GIT_BAD_SOURCE', `invalid source: ${message}`);
}
