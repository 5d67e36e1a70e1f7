/** ANSI styles for one output stream; every function is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  /** White on red: how fly shows `errored`. */
  alarm(text: string): string;
}

const codes = {
  bold: ['1', '22'],
  red: ['31', '39'],
  green: ['32', '39'],
  yellow: ['33', '39'],
  cyan: ['36', '39'],
  alarm: ['37;41', '39;49'],
} as const;

/**
 * Colour for a stream, by the usual conventions: FORCE_COLOR (other than 0) turns it on,
 * NO_COLOR turns it off, otherwise it follows whether the stream is a terminal.
 */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const force = env.FORCE_COLOR;
  const enabled =
    force !== undefined && force !== ''
      ? force !== '0' && force !== 'false'
      : env.NO_COLOR !== undefined && env.NO_COLOR !== ''
        ? false
        : stream.isTTY === true;
  const paint =
    ([open, close]: readonly [string, string]) =>
    (text: string) =>
      enabled && text !== '' ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: paint(codes.bold),
    red: paint(codes.red),
    green: paint(codes.green),
    yellow: paint(codes.yellow),
    cyan: paint(codes.cyan),
    alarm: paint(codes.alarm),
  };
}

/** A build status in fly's colours. */
export function paintStatus(style: Style, status: string): string {
  switch (status) {
    case 'succeeded':
      return style.green(status);
    case 'failed':
      return style.red(status);
    case 'errored':
      return style.alarm(status);
    case 'aborted':
    case 'started':
      return style.yellow(status);
    default:
      return status;
  }
}
