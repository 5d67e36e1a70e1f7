/**
 * Download progress for `cc plugin install|update|mirror`, always on stderr (stdout is the
 * command's output). On a terminal: a bar per blob, redrawn in place at most every 100 ms, then
 * left as one summary line. Elsewhere (a pipe, a log file, `--json`): one plain line per blob
 * when it is complete, and no control characters.
 */
import type { BlobProgressEvent } from './oci-client.js';

/** Where progress goes: process.stderr, or anything shaped like it. */
export interface ProgressStream {
  write(text: string): unknown;
  /** The terminal's width, when it is one. */
  columns?: number | undefined;
}

export interface DownloadProgressOptions {
  stream: ProgressStream;
  /** Draw bars (a terminal, not --json); otherwise plain lines. */
  live: boolean;
  /** Milliseconds; injectable so the renderer is tested without waiting. */
  now?: () => number;
  /** The least time between two redraws of a bar (default 100 ms: at most ~10 a second). */
  intervalMs?: number;
}

interface Bar {
  label: string;
  digest: string;
  total: number;
  received: number;
  startedAt: number;
  drawnAt: number;
  /** Whether the bar is on screen now (the cursor is on its line). */
  shown: boolean;
}

const kBarWidth = 24;
const kClearLine = '\r\x1b[K';

export class DownloadProgress {
  readonly #stream: ProgressStream;
  readonly #live: boolean;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #bar: Bar | undefined;

  constructor(options: DownloadProgressOptions) {
    this.#stream = options.stream;
    this.#live = options.live;
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = options.intervalMs ?? 100;
  }

  /** A line of its own (a step, a warning); a bar being drawn is redrawn below it. */
  log(line: string): void {
    if (this.#bar?.shown) {
      this.#stream.write(`${kClearLine}${line}\n`);
      this.#draw(this.#bar);
      return;
    }
    this.#stream.write(`${line}\n`);
  }

  /** The OciClient's onProgress: a blob download started (received 0) or went on. */
  readonly onBlob = (event: BlobProgressEvent): void => {
    const now = this.#now();
    let bar = this.#bar;
    if (bar === undefined || bar.digest !== event.digest) {
      // A bar left unfinished (its download failed) keeps its line; the next starts below it.
      if (bar?.shown) this.#stream.write('\n');
      bar = {
        label: `${event.repository}@${shortDigest(event.digest)}`,
        digest: event.digest,
        total: event.total,
        received: 0,
        startedAt: now,
        drawnAt: Number.NEGATIVE_INFINITY,
        shown: false,
      };
      this.#bar = bar;
    }
    bar.received = event.received;
    if (event.received >= event.total) {
      const line = renderBlobDone({ label: bar.label, total: bar.total, elapsedMs: now - bar.startedAt });
      this.#stream.write(this.#live && bar.shown ? `${kClearLine}${line}\n` : `${line}\n`);
      this.#bar = undefined;
      return;
    }
    if (!this.#live || now - bar.drawnAt < this.#intervalMs) return;
    bar.drawnAt = now;
    this.#draw(bar);
  };

  /** Ends a bar left on screen (a failed download), so what follows starts on a line of its own. */
  finish(): void {
    if (this.#bar?.shown) this.#stream.write('\n');
    this.#bar = undefined;
  }

  #draw(bar: Bar): void {
    const line = renderProgressBar({
      label: bar.label,
      received: bar.received,
      total: bar.total,
      elapsedMs: this.#now() - bar.startedAt,
      // A pseudo-terminal nobody sized says 0: no width to keep to.
      ...(this.#stream.columns ? { columns: this.#stream.columns } : {}),
    });
    this.#stream.write(`${kClearLine}${line}`);
    bar.shown = true;
  }
}

export interface BarState {
  label: string;
  received: number;
  total: number;
  elapsedMs: number;
  /** The terminal's width: the line is kept shorter, so `\r` can redraw it. */
  columns?: number;
}

/** `  plugins/git@sha256:0123456789ab [#########---------------]  38%  1.2 MiB/3.1 MiB  640 KiB/s` */
export function renderProgressBar(state: BarState, width = kBarWidth): string {
  const fraction = state.total > 0 ? Math.min(1, state.received / state.total) : 1;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rate = rateOf(state.received, state.elapsedMs);
  const tail = ` ${bar} ${percent}  ${formatBytes(state.received)}/${formatBytes(state.total)}${
    rate === undefined ? '' : `  ${rate}`
  }`;
  return `  ${fit(state.label, state.columns === undefined ? undefined : state.columns - 1 - 2 - tail.length)}${tail}`;
}

/** `  plugins/git@sha256:0123456789ab 3.1 MiB in 1.2s (2.6 MiB/s)`; the plain line of a blob. */
export function renderBlobDone(state: { label: string; total: number; elapsedMs: number }): string {
  const rate = rateOf(state.total, state.elapsedMs);
  const time = state.elapsedMs < 1 ? '' : ` in ${(state.elapsedMs / 1000).toFixed(1)}s`;
  return `  ${state.label} ${formatBytes(state.total)}${time}${rate === undefined ? '' : ` (${rate})`}`;
}

/** Bytes in binary units, one decimal above a KiB: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function rateOf(bytes: number, elapsedMs: number): string | undefined {
  // Under a millisecond says nothing about the network.
  if (elapsedMs < 1) return undefined;
  return `${formatBytes(Math.round((bytes * 1000) / elapsedMs))}/s`;
}

function fit(label: string, room: number | undefined): string {
  if (room === undefined || label.length <= room) return label;
  if (room <= 1) return '';
  return `…${label.slice(label.length - room + 1)}`;
}

/** A digest's short form: `sha256:` and 12 hex digits. */
function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
