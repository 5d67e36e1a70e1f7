import type { YamlPath } from '../yaml-source.js';
import type { Findings } from './findings.js';
import { withoutVars } from './var-refs.js';

const valid = /^[\p{Ll}\p{Lt}\p{Lm}\p{Lo}\d][\p{Ll}\p{Lt}\p{Lm}\p{Lo}\d\-_.]*$/u;
const validPart = /^[\p{Ll}\p{Lt}\p{Lm}\p{Lo}\d\-_.]*$/u;
const invalidCharacter = /[^\p{Ll}\p{Lt}\p{Lm}\p{Lo}\d\-_.]/u;

/**
 * Concourse's identifier rule (lower-case letters, digits, `-`, `_`, `.`; not only digits). Like
 * Concourse 7, a name that breaks it is a warning, not an error: existing pipelines keep working.
 * Vars in a name (`deploy-((env))`) are left out of the check: their values are not known yet.
 */
export function checkIdentifier(name: string, segments: YamlPath, findings: Findings): void {
  const hasVars = withoutVars(name) !== name;
  const checked = hasVars ? withoutVars(name) : name;
  let reason: string | undefined;
  if (/^\d+$/.test(checked)) reason = 'it cannot be only digits';
  else if (hasVars ? !validPart.test(checked) || name.startsWith('-') : !valid.test(checked)) {
    const bad = invalidCharacter.exec(checked.slice(hasVars ? 0 : 1))?.[0];
    reason =
      !hasVars && !valid.test(checked.slice(0, 1))
        ? 'it must start with a lower-case letter or a digit'
        : `it has the character \`${bad ?? checked.slice(0, 1)}\``;
  }
  if (reason === undefined) return;
  findings.warn(
    segments,
    `\`${name}\` is not a valid identifier (${reason}); use lower-case letters, digits, \`-\`, \`_\` and \`.\`. Concourse and Conveyor accept it for now`,
  );
}
