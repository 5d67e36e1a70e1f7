import { basename, resolve } from 'node:path';
import { CliError } from '../errors/index.js';
import type { TaskInput } from './task-config.js';

export interface LocalArtifact {
  name: string;
  dir: string;
}

/** `NAME=DIR` pairs of `-i`/`-o`, checked against the names the task declares. */
export function parseArtifactPairs(
  pairs: readonly string[],
  declared: readonly string[],
  flag: '--input' | '--output',
): LocalArtifact[] {
  const noun = flag === '--input' ? 'input' : 'output';
  const seen = new Set<string>();
  return pairs.map((pair) => {
    const equals = pair.indexOf('=');
    if (equals <= 0 || equals === pair.length - 1) {
      throw new CliError('CC_E_CLI_USAGE', `${flag} "${pair}" is not NAME=DIR`, {
        hint: `e.g. ${flag} ${noun === 'input' ? 'repo=.' : 'built=./out'}`,
      });
    }
    const name = pair.slice(0, equals);
    if (!declared.includes(name)) {
      const known = declared.length === 0 ? 'it declares none' : `it declares ${declared.join(', ')}`;
      throw new CliError('CC_E_CLI_USAGE', `unknown ${noun} \`${name}\`: ${known}`);
    }
    if (seen.has(name)) throw new CliError('CC_E_CLI_USAGE', `${noun} \`${name}\` is given twice`);
    seen.add(name);
    return { name, dir: pair.slice(equals + 1) };
  });
}

export interface InputPlan {
  /** Inputs uploaded from local directories. */
  uploads: LocalArtifact[];
  /** Inputs the server takes from the `--inputs-from` job's latest versions. */
  fromJob: string[];
}

/**
 * Where each of the task's inputs comes from, as fly execute decides (executehelpers/inputs.go):
 * 1. an input given with `-i NAME=DIR` is uploaded from DIR;
 * 2. without `--inputs-from`, an input named like the current directory, or the task's only
 *    input, is the current directory;
 * 3. with `--inputs-from`, the rest come from that job;
 * 4. an optional input left over is skipped; a required one is a usage error.
 */
export function planInputs(
  inputs: readonly TaskInput[],
  given: readonly LocalArtifact[],
  options: { cwd: string; inputsFromJob: boolean },
): InputPlan {
  const uploads = [...given];
  const fromJob: string[] = [];
  const here = basename(resolve(options.cwd));
  for (const input of inputs) {
    if (given.some((g) => g.name === input.name)) continue;
    if (!options.inputsFromJob && (input.name === here || inputs.length === 1)) {
      uploads.push({ name: input.name, dir: '.' });
    } else if (options.inputsFromJob) {
      fromJob.push(input.name);
    } else if (!input.optional) {
      throw new CliError('CC_E_CLI_USAGE', `missing required input \`${input.name}\``, {
        hint: `give it with -i ${input.name}=DIR, or take it from a job with -j PIPELINE/JOB`,
      });
    }
  }
  return { uploads, fromJob };
}
