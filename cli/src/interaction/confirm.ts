import { createInterface } from 'node:readline';
import { CliError } from '../errors/index.js';

/** Where a question is asked and answered; the process's stdin and stdout unless told. */
export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const processTerminal = (): Terminal => ({ input: process.stdin, output: process.stdout, env: process.env });

/**
 * Whether someone can answer a question: stdin and stdout are terminals. CONVEYOR_ASSUME_TTY=1
 * says they are even when piped, so tests (and `expect`-style wrappers) can answer through stdin.
 */
export function isInteractive(terminal: Terminal = processTerminal()): boolean {
  if (terminal.env.CONVEYOR_ASSUME_TTY === '1') return true;
  return terminal.input.isTTY === true && terminal.output.isTTY === true;
}

/** Refuses, with the flag to use instead, when nobody could answer `question`. */
export function requireInteractive(question: string, terminal: Terminal = processTerminal()): void {
  if (isInteractive(terminal)) return;
  throw new CliError(
    'CC_E_CLI_NOT_INTERACTIVE',
    `cannot ask "${question}": stdin is not a terminal; pass --non-interactive (-n) to go ahead without asking`,
    { hint: 'in scripts and CI, add --non-interactive' },
  );
}

/**
 * Asks a yes/no question, like fly: `question [yN]: `. y/yes/n/no in any case; an empty answer or
 * the end of input is no; anything else asks again.
 */
export async function confirm(question: string, terminal: Terminal = processTerminal()): Promise<boolean> {
  requireInteractive(question, terminal);
  const lines = createInterface({ input: terminal.input, terminal: false });
  const iterator = lines[Symbol.asyncIterator]();
  try {
    for (;;) {
      terminal.output.write(`${question} [yN]: `);
      const next = await iterator.next();
      if (next.done === true) {
        terminal.output.write('\n');
        return false;
      }
      // A terminal echoes the answer; piped input does not, so echo it for a readable transcript.
      if (terminal.input.isTTY !== true) terminal.output.write(`${String(next.value)}\n`);
      const answer = String(next.value).trim().toLowerCase();
      if (answer === 'y' || answer === 'yes') return true;
      if (answer === 'n' || answer === 'no' || answer === '') return false;
      terminal.output.write('please answer y or n\n');
    }
  } finally {
    lines.close();
  }
}
