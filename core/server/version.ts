import { readFileSync } from 'node:fs';

/** This core's version, from its package.json, for /api/v1/info and `cc --version`. */
export const coreVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
