import { createInterface } from 'node:readline';
import type { Container } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { isInteractive, type Terminal } from '../interaction/index.js';

const processTerminal = (): Terminal => ({ input: process.stdin, output: process.stdout, env: process.env });

/** One line of the list fly prints: `build #3, step: unit, type: task`. */
export function describeContainer(container: Container): string {
  const build = container.build_name ?? String(container.build_id ?? '?');
  const step = container.step_name ?? (container.plan_id === undefined ? '?' : `#${container.plan_id}`);
  return `build #${build}, step: ${step}, type: ${container.type ?? '?'}, handle: ${container.handle}`;
}

/**
 * The container to intercept, as fly chooses it: the only one, or the one the user picks from a
 * numbered list. Without a terminal to ask on, several are an error that lists them.
 */
export async function chooseContainer(
  containers: readonly Container[],
  terminal: Terminal = processTerminal(),
): Promise<Container> {
  const [first, ...rest] = containers;
  if (first !== undefined && rest.length === 0) return first;
  const listed = containers.map((c, i) => `${i + 1}: ${describeContainer(c)}`);
  if (!isInteractive(terminal)) {
    throw new CliError(
      'CC_E_CLI_AMBIGUOUS',
      `${containers.length} containers match, and stdin is not a terminal to ask which:\n${listed.join('\n')}`,
      {
        hint: 'name one with -s STEP (a step name or plan id) or --handle HANDLE',
        details: {
          containers: containers.map((c) => ({
            handle: c.handle,
            step_name: c.step_name,
            plan_id: c.plan_id,
            type: c.type,
          })),
        },
      },
    );
  }
  terminal.output.write(`${listed.join('\n')}\n`);
  const lines = createInterface({ input: terminal.input, terminal: false });
  const iterator = lines[Symbol.asyncIterator]();
  try {
    for (;;) {
      terminal.output.write('choose a container: ');
      const next = await iterator.next();
      if (next.done === true) {
        terminal.output.write('\n');
        throw new CliError('CC_E_CLI_USAGE', 'no container chosen: stdin ended', {
          hint: 'name one with -s STEP or --handle HANDLE',
        });
      }
      const answer = String(next.value).trim();
      if (terminal.input.isTTY !== true) terminal.output.write(`${answer}\n`);
      const index = /^[0-9]+$/.test(answer) ? Number(answer) - 1 : -1;
      const chosen = containers[index];
      if (chosen !== undefined) return chosen;
      terminal.output.write(`please answer a number from 1 to ${containers.length}\n`);
    }
  } finally {
    lines.close();
  }
}
