import type { BuildStatus } from '../client/index.js';
import { paintStatus, type Style } from '../output/index.js';

/** One build event as the stream carries it (a BuildEventMessage): Concourse's shape. */
export interface BuildEventMessage {
  event: string;
  version: string;
  data: Record<string, unknown>;
}

export type FinishedStatus = Exclude<BuildStatus, 'pending' | 'started'>;

/** fly's exit codes for a watched build. */
const exitCodes: Record<FinishedStatus, number> = { succeeded: 0, failed: 1, errored: 2, aborted: 3 };

export function exitCodeOf(status: FinishedStatus): number {
  return exitCodes[status];
}

export function isFinished(status: string): status is FinishedStatus {
  return Object.hasOwn(exitCodes, status);
}

/**
 * Renders a build's events as fly does (fly/eventstream/render.go): log payloads as they come,
 * a bold `initializing` and `running PATH ARGS` around each task, `selected worker:` where the
 * runtime names one, errors in red, and the final status in its colour. Events it does not know
 * are skipped, so a newer server's events never break an older CLI.
 */
export class BuildEventRenderer {
  readonly #write: (text: string) => void;
  readonly #style: Style;
  /** The task config of each task step, by plan id, from its initialize-task event. */
  readonly #taskConfigs = new Map<string, Record<string, unknown>>();
  /** Whether the last output ended a line, so a header never lands mid-line. */
  #atLineStart = true;

  constructor(write: (text: string) => void, style: Style) {
    this.#write = write;
    this.#style = style;
  }

  /** Renders one event; returns the build's final status when this event is it. */
  render(message: BuildEventMessage): FinishedStatus | undefined {
    const { data } = message;
    switch (message.event) {
      case 'log': {
        const payload = typeof data.payload === 'string' ? data.payload : '';
        this.#out(payload);
        return undefined;
      }
      case 'initialize-task': {
        const id = originId(data);
        if (id !== undefined && isRecord(data.config)) this.#taskConfigs.set(id, data.config);
        this.#line(this.#style.bold('initializing'));
        return undefined;
      }
      case 'start-task': {
        const id = originId(data);
        const config = id === undefined ? undefined : this.#taskConfigs.get(id);
        this.#line(this.#style.bold(`running ${argv(config)}`.trimEnd()));
        return undefined;
      }
      case 'selected-worker': {
        // Concourse's event; Conveyor's runtimes may send it once they pick among workers.
        const worker = data.selected_worker ?? data.worker_name ?? data.worker;
        if (typeof worker === 'string') this.#line(`${this.#style.bold('selected worker:')} ${worker}`);
        return undefined;
      }
      case 'error': {
        const text = typeof data.message === 'string' ? data.message : 'unknown error';
        this.#line(this.#style.red(text));
        return undefined;
      }
      case 'status': {
        const status = typeof data.status === 'string' ? data.status : '';
        if (!isFinished(status)) return undefined;
        this.#line(paintStatus(this.#style, status));
        return status;
      }
      default:
        return undefined;
    }
  }

  #out(text: string): void {
    if (text === '') return;
    this.#write(text);
    this.#atLineStart = text.endsWith('\n');
  }

  #line(text: string): void {
    this.#out(`${this.#atLineStart ? '' : '\n'}${text}\n`);
  }
}

function originId(data: Record<string, unknown>): string | undefined {
  const origin = data.origin;
  return isRecord(origin) && typeof origin.id === 'string' ? origin.id : undefined;
}

/** `path arg1 arg2` of a task config's `run`, as fly shows it. */
function argv(config: Record<string, unknown> | undefined): string {
  const run = config?.run;
  if (!isRecord(run)) return '';
  const path = typeof run.path === 'string' ? run.path : '';
  const args = Array.isArray(run.args) ? run.args.map(String) : [];
  return [path, ...args].join(' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
