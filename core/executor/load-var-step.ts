import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConveyorError } from '../errors/index.js';
import type { LoadVarStep } from '../plan/build-plan.generated.js';
import { readArtifactFile, splitArtifactPath } from './artifact-files.js';
import type { BuildContext } from './build-context.js';
import { type StepOutcome, succeeded } from './outcome.js';
import type { RunScope } from './run-scope.js';

type Format = 'json' | 'yaml' | 'yml' | 'trim' | 'raw';
const FORMATS = new Set<string>(['json', 'yaml', 'yml', 'trim', 'raw']);

/**
 * load_var: read a file of an artifact into a local var (`((.:name))`). Its format is `format:`,
 * or the file's extension when that names one, or else `trim`. Unless `reveal: true`, the value
 * is a secret: it is redacted from everything the build shows from then on.
 */
export async function runLoadVarStep(
  build: BuildContext,
  step: LoadVarStep,
  scope: RunScope,
): Promise<StepOutcome> {
  const { events } = build;
  const origin = { id: step.id };
  const what = `load_var ${JSON.stringify(step.name)}`;
  await events.emit({ event: 'initialize-load-var', data: { origin, time: events.time() } });
  const file = await build.interpolate(step.file, scope, `the file of ${what}`);
  const { path } = splitArtifactPath(file, `the file of ${what}`);
  const format = step.format ?? formatOf(path);
  await events.emit({ event: 'start-load-var', data: { origin, time: events.time() } });

  const content = (await readArtifactFile(build.deps, scope, file, `the file of ${what}`)).toString('utf8');
  const value = parseValue(content, format, file, what);
  scope.setLocalVar(step.name, value);
  if (step.reveal !== true) build.secrets.add(value);
  const stdout = { id: step.id, source: 'stdout' } as const;
  events.log(stdout, `var ${step.name} fetched.\n`);
  events.log(stdout, `added var ${step.name} to build.\n`);
  await events.emit({ event: 'finish-load-var', data: { origin, time: events.time(), succeeded: true } });
  return succeeded;
}

function formatOf(path: string): Format {
  const extension = posix.extname(path).slice(1);
  return FORMATS.has(extension) ? (extension as Format) : 'trim';
}

function parseValue(content: string, format: Format, file: string, what: string): unknown {
  try {
    switch (format) {
      case 'json':
        return JSON.parse(content);
      case 'yaml':
      case 'yml':
        return parseYaml(content) ?? null;
      case 'trim':
        return content.trim();
      case 'raw':
        return content;
    }
  } catch {
    // Not the parser's message, nor the cause: they quote the text at fault, which may be a secret.
    throw new ConveyorError(
      'CC_E_EXEC_VAR_FILE_INVALID',
      `${what}: ${file} is not valid ${format === 'yml' ? 'yaml' : format}; check it, or give load_var another format`,
      { details: { file, format } },
    );
  }
}
