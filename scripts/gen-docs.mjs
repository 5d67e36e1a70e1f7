#!/usr/bin/env node
// Writes the documentation that is generated from code and schemas (run after `tsc -b`):
// docs/errors.md from the error registry, docs/configuration.md from conveyor.schema.json.
// `--check` fails instead of writing when a checked-in file has drifted.
import { readFileSync, writeFileSync } from 'node:fs';
import { configEnvVariables, configSchema } from '@conveyor/core/config';
import { renderErrorDocs } from '@conveyor/core/errors';

const check = process.argv.includes('--check');
let drift = 0;

function emit(relative, want) {
  const file = new URL(`../${relative}`, import.meta.url);
  let have = '';
  try {
    have = readFileSync(file, 'utf8');
  } catch {}
  if (have === want) return;
  if (check) {
    console.error(`drift: ${relative} is not what its source renders; run \`npm run gen\` and commit`);
    drift++;
  } else {
    writeFileSync(file, want);
    console.log(`generated ${relative}`);
  }
}

function renderConfigurationDocs() {
  const cell = (text) =>
    String(text ?? '')
      .replaceAll('|', '\\|')
      .replaceAll('\n', ' ');
  const lines = [
    '<!-- DO NOT EDIT: generated from core/config/schemas/conveyor.schema.json by `npm run gen`. -->',
    '# Configuration: conveyor.yaml',
    '',
    cell(configSchema.description),
    '',
    '`cc up -c conveyor.yaml` (or `CONVEYOR_CONFIG=conveyor.yaml`) reads the file. Every problem is',
    'reported at once with its file:line:column and field path. Swapping the runtime or the volume',
    'driver is one line:',
    '',
    '```yaml',
    'runtime: containerd          # was: local',
    'volumes: { driver: overlay } # was: naive',
    'credentials:',
    '  - manager: env',
    '    config: { prefix: CONVEYOR_VAR_ }',
    'plugins:',
    '  pins: { git: ^2 }',
    '  call_timeout: 5m',
    '```',
    '',
    '## Fields and their environment variables',
    '',
    '| field | variable | type | meaning |',
    '| --- | --- | --- | --- |',
  ];
  for (const variable of configEnvVariables()) {
    lines.push(
      `| \`${variable.path.join('.')}\` | \`${variable.name}\` | ${variable.type} | ${cell(variable.description)} |`,
    );
  }
  lines.push(
    '',
    'Fields without a variable (set them in the file): `runtime.config`, `volumes.config`,',
    '`credentials` (a list of `{ manager, config }`) and `plugins.pins` (a map of name to semver range).',
    '',
  );
  return lines.join('\n');
}

emit('docs/errors.md', renderErrorDocs());
emit('docs/configuration.md', renderConfigurationDocs());
if (drift) process.exit(1);
