import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ApiClient } from './client/index.js';
import { CliError, toCliError } from './errors/index.js';
import { type Style, styleFor } from './output/index.js';
import { type ResolvedTarget, resolveTarget, type TargetFlags, targetsPath } from './targets/index.js';
import { type WatchOutcome, watchBuild } from './watch/index.js';

/** A command's parsed flags; a command's own flag replaces a base flag of the same name. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  Omit<T['baseFlags'], keyof T['flags']> & T['flags']
>;
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * The base of every `cc` command: one lifecycle and one exit point.
 * 1. init parses flags and arguments (usage errors surface here);
 * 2. run does the work and returns what `--json` prints;
 * 3. catch turns whatever was thrown into a CliError with a stable code and exit code;
 * 4. finally releases what run acquired (see `defer`), in reverse order, whatever happened;
 * then oclif's handler prints the error and exits with its code. No command calls process.exit.
 * Commands that talk to a server extend TargetCommand below.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  readonly #cleanups: Array<() => Promise<void>> = [];

  /** The targets file of this invocation: `$CONVEYOR_HOME/targets.yaml`. */
  protected get targetsFile(): string {
    return targetsPath();
  }

  protected override async init(): Promise<void> {
    await super.init();
    const { flags, args } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: this.ctor.baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
  }

  /** ANSI styles for stdout: on for a terminal, off when piped or with NO_COLOR. */
  protected get style(): Style {
    return styleFor(process.stdout);
  }

  /** Writes to stdout as it is, without the newline `log` adds: for streamed build logs. */
  protected write(text: string): void {
    process.stdout.write(text);
  }

  /** Runs `cleanup` in `finally`, after run succeeded or failed; later registrations run first. */
  protected defer(cleanup: () => Promise<void>): void {
    this.#cleanups.push(cleanup);
  }

  protected override async catch(thrown: Error & { exitCode?: number }): Promise<never> {
    // this.exit() throws an ExitError: it is an exit code, not a failure.
    if (thrown instanceof Errors.ExitError) throw thrown;
    const error = toCliError(thrown);
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(error));
      // Printed already: an ExitError makes oclif's handler exit with the code without printing again.
      throw new Errors.ExitError(error.exit);
    }
    throw error;
  }

  protected override async finally(thrown: Error | undefined): Promise<void> {
    const failures: unknown[] = [];
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    await super.finally(thrown);
    // A failed cleanup after a successful run is the command's failure; after a failed run, the
    // first failure is the one to report, so the cleanup's is only logged.
    if (failures.length === 0) return;
    const error =
      failures[0] instanceof CliError
        ? failures[0]
        : new CliError('CC_E_CLI_INTERNAL', 'cleanup failed', { cause: failures[0] });
    if (thrown === undefined) throw error;
    this.logToStderr(`warning: ${error.message}`);
  }

  protected override toErrorJson(error: unknown): { error: unknown } {
    return { error: error instanceof CliError ? error.toJson() : toCliError(error).toJson() };
  }
}

/**
 * The base of every command that talks to a server: the global flags `--target`, `--url` and
 * `--token` (and their CONVEYOR_* variables) pick the server and the token.
 */
export abstract class TargetCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    target: Flags.string({
      char: 't',
      summary: 'Saved target to talk to (see `cc targets`).',
      description: 'Defaults to the target `cc login` or `cc up` saved last.',
      env: 'CONVEYOR_TARGET',
      helpGroup: 'GLOBAL',
    }),
    url: Flags.string({
      summary: "Server URL, overriding the target's (e.g. http://127.0.0.1:8080).",
      env: 'CONVEYOR_URL',
      helpGroup: 'GLOBAL',
    }),
    token: Flags.string({
      summary: "API token, overriding the target's.",
      env: 'CONVEYOR_TOKEN',
      helpGroup: 'GLOBAL',
    }),
  };

  /** The server this invocation talks to, from `--target`, `--url`, `--token` and the targets file. */
  protected async target(): Promise<ResolvedTarget> {
    const { target, url, token } = this.flags as TargetFlags;
    return resolveTarget({ target, url, token }, this.targetsFile);
  }

  protected async client(): Promise<ApiClient> {
    return new ApiClient(await this.target());
  }

  /**
   * Streams a build's log to stdout until it finishes (see watchBuild), then ends the command
   * with fly's exit code for its status: 0 succeeded, 1 failed, 2 errored, 3 aborted.
   */
  protected async watchAndExit(
    client: ApiClient,
    buildId: number,
    signal?: AbortSignal,
  ): Promise<WatchOutcome> {
    const outcome = await watchBuild(client, buildId, {
      write: (text) => this.write(text),
      warn: (text) => process.stderr.write(text),
      style: this.style,
      ...(signal === undefined ? {} : { signal }),
    });
    if (outcome.exitCode !== undefined && outcome.exitCode !== 0) this.exit(outcome.exitCode);
    return outcome;
  }
}
