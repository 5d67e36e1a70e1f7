import { parse } from 'yaml';
import { CliError } from '../errors/index.js';
import { readTextFile } from '../files/index.js';

export interface TaskInput {
  name: string;
  optional: boolean;
}

/** A task config file (Concourse's task format), with what `cc execute` needs to know of it. */
export interface TaskConfigFile {
  /** The whole config, sent to the server as it is: the server validates it. */
  config: Record<string, unknown>;
  inputs: TaskInput[];
  outputs: string[];
}

/**
 * Reads a task config. Only what the client acts on is checked here (that it is a mapping and
 * that its inputs and outputs have names); everything else is the server's to validate.
 */
export async function readTaskConfig(file: string): Promise<TaskConfigFile> {
  const text = await readTextFile(file);
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw invalidTask(
      file,
      `is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      error,
    );
  }
  if (!isRecord(value))
    throw invalidTask(file, 'must be a mapping (a task config: platform, inputs, run, ...)');
  const inputs = namedList(value.inputs, file, 'inputs').map((input) => ({
    name: input.name,
    optional: input.entry.optional === true,
  }));
  const outputs = namedList(value.outputs, file, 'outputs').map((output) => output.name);
  return { config: value, inputs, outputs };
}

function namedList(
  value: unknown,
  file: string,
  key: string,
): Array<{ name: string; entry: Record<string, unknown> }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidTask(file, `\`${key}\` must be a list of { name: ... }`);
  return value.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '') {
      throw invalidTask(file, `\`${key}[${i}]\` must have a \`name\``);
    }
    return { name: entry.name, entry };
  });
}

function invalidTask(file: string, problem: string, cause?: unknown): CliError {
  return new CliError('CC_E_CLI_FILE_UNREADABLE', `task config ${file} ${problem}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { file },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
