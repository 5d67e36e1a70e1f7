import type { CallContext } from '@conveyor/plugin-api';
import type { MockSource } from './types.js';

/** A line of the mock's output: Concourse's mock logs to stderr, which the build log shows. */
export type Say = (line: string) => void;

/** Start an action as the mock does: with source.log, when there is one. */
export function sayer(context: CallContext, source: MockSource): Say {
  const say: Say = (line) => context.output('stderr', `${line}\n`);
  if (source.log) say(source.log);
  return say;
}
