import { registry } from './registry.js';

/** docs/errors.md, rendered from the registry so the two can never disagree. */
export function renderErrorDocs(): string {
  const lines = [
    '<!-- DO NOT EDIT: generated from core/errors by `npm run gen`. -->',
    '# Error codes',
    '',
    "Every error Conveyor's core raises carries one of these stable codes (the API returns it as",
    '`code`, the CLI prints it). Codes are never renamed or reused; branch on them, not on messages.',
    '',
    '| code | HTTP status | meaning and what to do |',
    '| --- | --- | --- |',
  ];
  for (const [code, definition] of Object.entries(registry)) {
    lines.push(`| \`${code}\` | ${definition.status} | ${definition.docs.replaceAll('|', '\\|')} |`);
  }
  return `${lines.join('\n')}\n`;
}
