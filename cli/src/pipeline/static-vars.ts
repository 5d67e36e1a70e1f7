import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { CliError } from '../errors/index.js';

export interface StaticVarFlags {
  /** `-v NAME=VALUE`: the value as a string. */
  vars?: readonly string[] | undefined;
  /** `-y NAME=YAML`: the value parsed as YAML. */
  yamlVars?: readonly string[] | undefined;
  /** `-l FILE`: a YAML mapping of vars. */
  files?: readonly string[] | undefined;
}

/**
 * The static vars of `-l`, `-v` and `-y`, merged as fly merges them: files first, a later file
 * overriding an earlier one; then the flags, which override every file, `-y` after `-v`, and a
 * later flag overriding an earlier one. A dotted name (`-v repo.branch=main`) sets a field of a
 * mapping var, which `((repo.branch))` reads.
 */
export async function loadStaticVars(flags: StaticVarFlags): Promise<Record<string, unknown>> {
  const vars: Record<string, unknown> = {};
  for (const file of flags.files ?? []) Object.assign(vars, await readVarsFile(file));
  for (const pair of flags.vars ?? []) {
    const [name, value] = splitPair(pair, '-v/--var', 'NAME=VALUE');
    setVar(vars, name, value);
  }
  for (const pair of flags.yamlVars ?? []) {
    const [name, text] = splitPair(pair, '-y/--yaml-var', 'NAME=YAML');
    let value: unknown;
    try {
      value = parse(text);
    } catch (error) {
      throw new CliError('CC_E_CLI_USAGE', `-y/--yaml-var ${name}: the value is not valid YAML`, {
        cause: error,
      });
    }
    setVar(vars, name, value);
  }
  return vars;
}

async function readVarsFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError('CC_E_CLI_FILE_UNREADABLE', `cannot read the vars file ${file}`, { cause: error });
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new CliError('CC_E_CLI_FILE_UNREADABLE', `the vars file ${file} is not valid YAML`, {
      cause: error,
    });
  }
  if (value === null || value === undefined) return {};
  if (!isRecord(value)) {
    throw new CliError(
      'CC_E_CLI_FILE_UNREADABLE',
      `the vars file ${file} must be a mapping of var names to values`,
    );
  }
  return value;
}

function splitPair(pair: string, flag: string, form: string): [string, string] {
  const equals = pair.indexOf('=');
  if (equals <= 0) {
    throw new CliError('CC_E_CLI_USAGE', `${flag} "${pair}" is not ${form}`, {
      hint: `e.g. ${flag.split('/')[0]} branch=main`,
    });
  }
  return [pair.slice(0, equals), pair.slice(equals + 1)];
}

function setVar(vars: Record<string, unknown>, name: string, value: unknown): void {
  const path = name.split('.');
  let node = vars;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isRecord(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  node[path.at(-1) ?? name] = value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
